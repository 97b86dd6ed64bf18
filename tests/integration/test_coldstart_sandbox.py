"""Cold start on a Lambda-like filesystem (read-only except /tmp), end to end.

The image's build step (function.runtime.prepare, run here through its CLI) bakes numba's cache into
a dir under /var/tmp; a fresh sandboxed process then starts the way the entry points do and
must segment a real photo without importing pymatting, then do alpha matting from the baked
cache, writing nothing outside /tmp. Timings are printed, never asserted (shared CI cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.sandbox import kept_under_tmp, lambda_env, run_in_sandbox, sandbox_available
from function.runtime.prepare import _cache_state

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no Lambda-like sandbox here: {sandbox_available()}"),
]


@pytest.fixture(scope="module")
def image_dir(lambda_image_dir):
    """Models, baked numba cache and a photo outside /tmp (tests/conftest.py, shared per session)."""
    return lambda_image_dir


def _env(image_dir: Path, **overrides):
    return lambda_env(baked_cache=image_dir / "numba", model_home=image_dir / "models", **overrides)


COLD_START = """
import json, os, sys
from function.runtime.coldstart import prepare_runtime, load_session_factory, load_matting
prepare_runtime(); mark("prepared")
new_session = load_session_factory(); mark("imported")
session = new_session("u2netp"); mark("session")
heavy = sorted(m for m in ("pymatting", "numba", "rembg.bg", "scipy.ndimage") if m in sys.modules)
import numpy as np
from PIL import Image
img = Image.open(PHOTO).convert("RGB")
mask = session.predict(img)[0]
cutout = img.copy(); cutout.putalpha(mask); mark("first_answer")
alpha = np.asarray(cutout)[..., 3]
matted = load_matting()(img, mask, 240, 10, 10); mark("matting")
matted_alpha = np.asarray(matted)[..., 3]
cache = os.environ["NUMBA_CACHE_DIR"]
import rembg  # plain rembg still works in the same process after the lazy start
print(json.dumps({
    "heavy_at_first_answer": heavy,
    "centre": int(alpha[240:272, 240:272].min()),
    "corners": [int(alpha[:32, :32].max()), int(alpha[:32, -32:].max())],
    "matted_centre": int(matted_alpha[240:272, 240:272].min()),
    "matted_corners": [int(matted_alpha[:32, :32].max()), int(matted_alpha[:32, -32:].max())],
    "tmp": sorted(os.listdir("/tmp")),
    "cache_files": sorted(os.path.relpath(os.path.join(d, f), cache) for d, _, fs in os.walk(cache) for f in fs),
    "registry_same_class": rembg.sessions.sessions["u2netp"] is type(session),
    "remove": callable(rembg.remove),
}))
"""


def test_cold_start_segments_and_mattes_without_writing_outside_tmp(image_dir):
    baked = image_dir / "numba"
    baked_before = _cache_state(baked)
    code = f"PHOTO = {str(image_dir / 'astronaut.png')!r}\n" + COLD_START
    result = run_in_sandbox(code, _env(image_dir))
    print(f"\ncold start marks (s since process start): {result.marks}")
    # Any write outside /tmp raises EROFS in the sandbox, so a clean exit means none happened.
    assert result.returncode == 0, result.describe()
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["heavy_at_first_answer"] == [], "the cold start imported the matting stack"
    assert report["centre"] > 200 and max(report["corners"]) < 20, report
    assert report["matted_centre"] > 200 and max(report["matted_corners"]) < 20, report
    expected = sorted(["numba_cache", *kept_under_tmp()])  # a checkout under /tmp is bound in read-only
    assert report["tmp"] == expected, "only the numba cache belongs in /tmp"
    # Matting compiled nothing: the /tmp cache holds exactly the baked files (plus the marker).
    baked_files = sorted(str(Path(p).relative_to(baked)) for p in baked_before)
    assert report["cache_files"] == sorted([*baked_files, ".copied-from-baked-cache"])
    assert report["registry_same_class"] and report["remove"]
    assert _cache_state(baked) == baked_before


def test_prepare_runtime_is_idempotent_and_keeps_explicit_settings(image_dir):
    code = """
import os
from function.runtime.coldstart import prepare_runtime, seed_numba_cache
from pathlib import Path
prepare_runtime(); prepare_runtime()
print(os.environ["NUMBA_CACHE_DIR"], os.environ["NUMBA_CPU_NAME"],
      seed_numba_cache(Path(os.environ["NUMBA_BAKED_CACHE_DIR"]), Path(os.environ["NUMBA_CACHE_DIR"])))
"""
    result = run_in_sandbox(code, _env(image_dir, NUMBA_CACHE_DIR="/tmp/elsewhere"))
    assert result.returncode == 0, result.describe()
    assert result.output.split() == ["/tmp/elsewhere", "generic", "False"]


def test_negative_control_plain_rembg_crashes_without_a_cache_dir(image_dir):
    """Shows the sandbox reproduces Lambda: numba finds no writable cache dir and rembg dies."""
    result = run_in_sandbox("import rembg", _env(image_dir, NUMBA_CACHE_DIR=None, NUMBA_BAKED_CACHE_DIR=None))
    assert result.returncode != 0
    assert "no locator available" in result.stderr, result.describe()
