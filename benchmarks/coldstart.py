"""Cold start to the first answered event, in the Lambda-like sandbox, for each way of loading rembg.

    python -m benchmarks.coldstart [--runs 3] [--skip-slow]

Marks are seconds since process start (see benchmarks/sandbox.py); cells: median (best). Every option does the same
work for its "first answer": decode a 512x512 PNG (skimage's astronaut), segment it with
u2netp, cut out, encode PNG. "matting" is a later request in the same process asking for alpha
matting. Needs root (unshare); builds its baked cache and model copy under /var/tmp once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from benchmarks.sandbox import lambda_env, run_in_sandbox, sandbox_available

WORK = Path("/var/tmp/coldstart-bench")
PHOTO = WORK / "astronaut.png"

_FIRST_ANSWER = """
from PIL import Image
import io
data = open({photo!r}, "rb").read()
img = Image.open(io.BytesIO(data)).convert("RGB")
"""
_ENCODE = 'out = io.BytesIO(); cutout.save(out, "PNG"); mark("first_answer")\n'
# The recommended path: segmentation from the session, cut-out with Pillow (no rembg.bg).
_LAZY_ANSWER = "mask = session.predict(img)[0]; cutout = img.copy(); cutout.putalpha(mask)\n" + _ENCODE
_MATTING = (
    "from function.runtime.coldstart import load_matting\nload_matting()(img, mask, 240, 10, 10); mark('matting')\n"
)

OPTIONS = {
    # What is deployed today: a writable, empty cache dir -> recompiles on every cold start.
    "today": (
        "import rembg; mark('import')\n"
        "session = rembg.new_session('u2netp'); mark('session')\n"
        + _FIRST_ANSWER
        + "cutout = rembg.remove(img, session=session)\n"
        + _ENCODE,
        {"NUMBA_CACHE_DIR": "/tmp/x", "NUMBA_BAKED_CACHE_DIR": None},
    ),
    # (a) baked cache copied to /tmp, then the usual eager `import rembg`.
    "a_baked_copy": (
        "import os; from pathlib import Path\n"
        "from function.runtime.coldstart import seed_numba_cache\n"
        "seed_numba_cache(Path(os.environ['NUMBA_BAKED_CACHE_DIR']), "
        "Path(os.environ['NUMBA_CACHE_DIR'])); mark('cache_copied')\n"
        "import rembg; mark('import')\n"
        "session = rembg.new_session('u2netp'); mark('session')\n"
        + _FIRST_ANSWER
        + "cutout = rembg.remove(img, session=session)\n"
        + _ENCODE
        + "mask = session.predict(img)[0]\n"
        "rembg.bg.alpha_matting_cutout(img, mask, 240, 10, 10); mark('matting')\n",
        {},
    ),
    # (b) lazy rembg package, no baked cache: fast start, but matting compiles on first use.
    "b_lazy_no_cache": (
        "from function.runtime.coldstart import prepare_runtime, load_session_factory\n"
        "prepare_runtime(); new_session = load_session_factory()\n"
        "import rembg.sessions.u2netp; mark('import')\n"
        "session = new_session('u2netp'); mark('session')\n" + _FIRST_ANSWER + _LAZY_ANSWER + _MATTING,
        {"NUMBA_BAKED_CACHE_DIR": None},
    ),
    # (b) with only rembg/__init__ deferred: rembg's own factory loads all ~20 session modules.
    "b_registry+a": (
        "from function.runtime.coldstart import prepare_runtime\n"
        "prepare_runtime(); mark('cache_copied')\n"
        "from rembg.session_factory import new_session; mark('import')\n"
        "session = new_session('u2netp'); mark('session')\n" + _FIRST_ANSWER + _LAZY_ANSWER + _MATTING,
        {},
    ),
    # (b)+(a): the recommendation.
    "b+a_lazy_baked": (
        "from function.runtime.coldstart import prepare_runtime, load_session_factory\n"
        "prepare_runtime(); mark('cache_copied')\n"
        "new_session = load_session_factory()\n"
        "import rembg.sessions.u2netp; mark('import')\n"
        "session = new_session('u2netp'); mark('session')\n" + _FIRST_ANSWER + _LAZY_ANSWER + _MATTING,
        {},
    ),
}
SLOW = {"today", "b_lazy_no_cache"}
COLUMNS = ("interpreter", "cache_copied", "import", "session", "first_answer", "matting")


def ensure_inputs() -> tuple[Path, Path]:
    """The photo, model and baked cache, outside /tmp so the sandbox can read them."""
    models, baked = WORK / "models", WORK / "numba"
    if not PHOTO.exists():
        from PIL import Image
        from skimage.data import astronaut

        WORK.mkdir(parents=True, exist_ok=True)
        Image.fromarray(astronaut()).save(PHOTO)
    if not (models / "u2netp.onnx").exists():
        from function.runtime.prepare import prepare_models

        prepare_models(["u2netp"], models, from_pypi=True)
    if not any(baked.glob("*/*.nbi")):
        from function.runtime.prepare import bake_numba_cache

        bake_numba_cache(baked)
    return models, baked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-slow", action="store_true", help="skip the options that compile (~40 s each)")
    parser.add_argument("--only", nargs="*", choices=sorted(OPTIONS))
    args = parser.parse_args(argv)
    if reason := sandbox_available():
        print(f"cannot run: {reason}")
        return 2
    models, baked = ensure_inputs()
    chosen = {
        name: spec
        for name, spec in OPTIONS.items()
        if not (args.only and name not in args.only) and not (args.skip_slow and name in SLOW)
    }
    results: dict[str, list] = {name: [] for name in chosen}
    # Round-robin over the options, so background load on shared cores hits them all alike.
    for run in range(args.runs):
        for name, (code, overrides) in chosen.items():
            if name in SLOW and run > 0:
                continue  # ~40 s each; one run says enough
            env = lambda_env(baked_cache=baked, model_home=models, **overrides)
            result = run_in_sandbox(code.replace("{photo!r}", repr(str(PHOTO))), env)
            if result.returncode != 0:
                print(f"{name} failed:\n{result.describe()}", file=sys.stderr)
                return 1
            results[name].append(result)
    print("| option | " + " | ".join(COLUMNS) + " |\n" + "|---" * (len(COLUMNS) + 1) + "|")
    for name, runs in results.items():
        # Median, and the best run: on shared cores the best is closest to an idle machine.
        cells = [
            f"{statistics.median(r.marks[c] for r in runs):.2f} ({min(r.marks[c] for r in runs):.2f})"
            if c in runs[0].marks
            else "–"
            for c in COLUMNS
        ]
        print(f"| {name} (n={len(runs)}) | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
