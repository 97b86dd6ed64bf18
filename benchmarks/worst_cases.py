"""The worst inputs inside the caps (tests/worst_inputs.py) next to real photos at the caps: time and
peak RSS of each, one fresh process per run (a warm function: the model has run twice), through the
pure pipeline with u2netp, or with a 1024² model's stand-in of the real architecture (--model).

    python -m benchmarks.worst_cases                  # every case (~20 min); refusals with one option set
    python -m benchmarks.worst_cases --only jpeg      # generators whose name matches
    python -m benchmarks.worst_cases --options png webp
    python -m benchmarks.worst_cases --model isnet-general-use    # ISNet's architecture, random weights
    python -m benchmarks.worst_cases --only 'real_photo_jpeg|huge_canvas' --options png jpg+bg_image png+shadow jpg+canvas_cap

Budget (issue 12): no case may take more than 1.5x the CPU time (in the child: every thread, not the
wall clock of a shared machine) of a real photo with the same options (the 50 MP JPEG; for options
refused at 50 MP, the photo at that option's own cap), nor peak above the real 50 MP JPEG answered
as PNG. The "CPU / photo" and "peak / photo PNG" columns are those ratios. Runs go one at a time; a
run over --timeout seconds is killed and shown as such.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path("/var/tmp/rembg-bench/worst")  # the generated inputs, handed to each child as a file
# Query-style option sets: the fused default, WebP, and the general path at its fullest (a
# translucent background keeps the alpha and flattens every pixel).
OPTION_SETS = {
    "png": {},
    "webp": {"format": "webp"},
    "png+bgcolor": {"bgcolor": "ffffff80"},
    "webp+bgcolor": {"format": "webp", "bgcolor": "ffffff80"},
    "png+matting": {"alpha_matting": "true"},
    # Product photos (issue 23): a background image at the pixel cap (the 50 MP photo itself), a
    # shadow on the whole cutout, and the largest canvas with everything drawn on it.
    "jpg+bg_image": {"format": "jpg", "background": "real_photo_jpeg"},
    "png+shadow": {"shadow": "true"},
    "jpg+canvas_cap": {
        "format": "jpg",
        "canvas": "5000x5000",
        "upscale": "true",
        "shadow": "true",
        "background": "real_photo_jpeg",
    },
}
# The options a product-photo set adds to a plain request are not worth running on every hostile file.
PRODUCT_SETS = ("jpg+bg_image", "png+shadow", "jpg+canvas_cap")
PRODUCT_INPUTS = ("real_photo_jpeg", "small_photo_on_a_huge_canvas")
# The yardstick for options refused at 50 MP is the real photo at that option's own cap.
SLOW_TO_MAKE = {"real_photo_jpeg", "real_photo_progressive", "real_photo_webp"}  # and independent of the settings
CAPPED_BY = {"webp": "real_photo_webp_cap", "webp+bgcolor": "real_photo_webp_cap", "png+matting": "real_photo_matting"}


def removal_options(query: dict):
    from function.imaging.options import options_from_text

    return options_from_text({name: value for name, value in query.items() if name != "background"})


def background_of(query: dict) -> bytes | None:
    """The background image an option set names (a worst_inputs generator), from the cache."""
    if "background" not in query:
        return None
    from tests import worst_inputs

    return input_file(getattr(worst_inputs, query["background"]), cached=True)[1].read_bytes()


class GivenMask:
    """The model, whose mask is replaced by a case's own (a mask the real model cannot be made to give)."""

    def __init__(self, model, mask):
        self.model, self.mask, self.name = model, mask, model.name

    def small_mask(self, image):
        self.model.small_mask(image)  # the inference still runs: its cost is part of the request
        return self.mask


def write_case(case, path: Path) -> None:
    """A case as the child reads it: the bytes, and beside them its name, expectation, own options and mask."""
    path.write_bytes(case.data)
    path.with_suffix(".json").write_text(json.dumps({"name": case.name, "expect": case.expect, "query": case.query}))
    mask = path.with_suffix(".mask.png")
    if case.mask is not None:
        case.mask.save(mask)
    elif mask.exists():
        mask.unlink()


def run_one(path: Path, option_set: str) -> dict:
    """In the child: build the model as the function does at init, then one request (with the case's
    own options over the option set's, and its own mask if it has one)."""
    from PIL import Image

    from benchmarks.memory import peak_mb
    from function.runtime.coldstart import prepare_runtime

    prepare_runtime()
    from function.errors import ServiceError
    from function.imaging.decode import DecodeLimits
    from function.imaging.model import BackgroundModel
    from function.imaging.pipeline import remove_background
    from function.settings import Settings

    settings = Settings()
    model = BackgroundModel(settings.model_name, settings.u2net_home)
    for _ in range(2):  # a warm function: onnxruntime's arenas reach their size on the second run
        model.small_mask(Image.new("RGB", (64, 64)))
    limits = DecodeLimits(max_bytes=settings.max_input_bytes, max_pixels=settings.max_input_pixels)
    data = path.read_bytes()
    info = path.with_suffix(".json")
    own = json.loads(info.read_text()).get("query", {}) if info.exists() else {}
    options = removal_options({**OPTION_SETS[option_set], **own})
    if path.with_suffix(".mask.png").exists():
        model = GivenMask(model, Image.open(path.with_suffix(".mask.png")).convert("L"))
    background = background_of(OPTION_SETS[option_set])
    init = peak_mb()
    stages: dict[str, float] = {}

    @contextmanager
    def stage_peak(name: str):
        reset_peak()
        yield
        stages[name] = max(stages.get(name, 0.0), round(peak_mb()))

    stage_ms: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        cutout = remove_background(
            data,
            options,
            model,
            limits,
            trace=stage_peak,
            matting_max_pixels=settings.alpha_matting_max_pixels,
            webp_max_pixels=settings.webp_max_pixels,
            background=background,
        )
        status, code, outcome = 200, None, f"200 {cutout.width}x{cutout.height} {len(cutout.body) / 1e6:.1f} MB"
        stage_ms = cutout.stage_ms
    except ServiceError as error:
        status, code, outcome = error.status, str(error.code), f"{error.status} {error.code}"
    except Exception as error:
        status, code, outcome = 500, None, f"500 {type(error).__name__}: {error}"[:120]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "status": status,
        "code": code,
        "outcome": outcome,
        "seconds": seconds,
        "cpu_s": cpu_seconds,
        "peak_mb": max([peak_mb(), *stages.values()]),
        "init_mb": init,
        "stage_peak_mb": stages,
        "stage_ms": stage_ms,
    }


def reset_peak() -> None:
    """Restart this process's peak RSS (VmHWM) from its current RSS (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def input_file(make, cached: bool) -> tuple[str, Path, str]:
    """Write a case to disk for the child; the 50 MP photos (seconds to encode) are kept between runs."""
    path = CACHE / f"{make.__name__}.bin"
    meta = path.with_suffix(".json")
    if not (cached and path.exists() and meta.exists()):
        CACHE.mkdir(parents=True, exist_ok=True)
        write_case(make(), path)
    info = json.loads(meta.read_text())
    return info["name"] + "".join(f" {k}={v}" for k, v in info.get("query", {}).items()), path, info["expect"]


def measure(
    path: Path, option_set: str, timeout: float, model_home: Path = REPO / "models", model_name: str = "u2netp"
) -> dict:
    """One request in a fresh process (so the peak RSS is its own): status, code, seconds, peak MB."""
    env = {
        **os.environ,
        "MODEL_NAME": model_name,
        "U2NET_HOME": str(model_home),
        "PYTHONPATH": str(REPO),
        "NUMBA_CACHE_DIR": "/var/tmp/rembg-bench/numba-host",
    }
    command = [sys.executable, "-m", "benchmarks.worst_cases", "--child", str(path), option_set]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {
            "status": None,
            "outcome": f"killed after {timeout:g} s",
            "seconds": float("inf"),
            "cpu_s": float("inf"),
            "peak_mb": float("nan"),
        }
    if done.returncode != 0:
        crash = (done.stderr.strip().splitlines() or ["?"])[-1][:80]
        return {
            "status": None,
            "outcome": f"process died ({done.returncode}): {crash}",
            "seconds": time.perf_counter() - started,
            "cpu_s": float("nan"),
            "peak_mb": float("nan"),
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def by_stage(figure: dict) -> str:
    return ", ".join(f"{stage} {mb:.0f}" for stage, mb in figure.get("stage_peak_mb", {}).items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="a regular expression on the generators' names")
    parser.add_argument("--options", nargs="*", default=None, choices=sorted(OPTION_SETS))
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--model", default="u2netp", help="a 1024² model (isnet-general-use) runs its shaped stand-in")
    parser.add_argument("--child", nargs=2, metavar=("INPUT", "OPTIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(Path(args.child[0]), args.child[1])))
        return 0
    from tests import worst_inputs

    option_sets = args.options or list(OPTION_SETS)
    from benchmarks.common import model_home

    home = REPO / "models" if args.model == "u2netp" else model_home()
    run = functools.partial(measure, timeout=args.timeout, model_home=home, model_name=args.model)
    yardsticks = {
        option_set: getattr(worst_inputs, CAPPED_BY.get(option_set, "real_photo_jpeg"))
        for option_set in {*option_sets, "png"}
    }
    reference, photos = {}, {}
    for option_set, make in sorted(yardsticks.items()):
        _, photos[option_set], _ = input_file(make, cached=make.__name__ in SLOW_TO_MAKE)
        reference[option_set] = run(photos[option_set], option_set)
        print(f"yardstick {option_set}: {reference[option_set]}", file=sys.stderr, flush=True)
    rows = [
        "| input | bytes | options | outcome | s | CPU s | peak MB | CPU / photo | peak / photo PNG | peak MB by stage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for make in worst_inputs.REAL_PHOTOS + worst_inputs.WORST_CASES:
        if not re.search(args.only, make.__name__):
            continue
        name, path, expect = input_file(make, cached=make.__name__ in SLOW_TO_MAKE)
        for option_set in option_sets:
            if (expect != "answered" or "=" in name) and option_set != option_sets[0]:
                continue  # a refusal does not depend on the options; a case with its own runs once
            if option_set in PRODUCT_SETS and make.__name__ not in PRODUCT_INPUTS:
                continue
            yardstick = reference[option_set]
            if make is yardsticks[option_set]:
                figure = yardstick
            else:
                figure = run(path, option_set)
                if figure["status"] == 200 or figure["cpu_s"] > 1:  # timed side by side: a shared machine drifts
                    yardstick = run(photos[option_set], option_set)
            cpu_ratio = figure["cpu_s"] / yardstick["cpu_s"]
            peak_ratio = figure["peak_mb"] / reference["png"]["peak_mb"]
            row = (
                f"| {name} | {path.stat().st_size:,} | {option_set} | {figure['outcome']} | {figure['seconds']:.2f} | "
                f"{figure['cpu_s']:.2f} | {figure['peak_mb']:.0f} | {cpu_ratio:.2f}x | {peak_ratio:.2f}x | {by_stage(figure)} |"
            )
            rows.append(row)
            print(row, figure.get("stage_ms"), yardstick.get("stage_ms"), file=sys.stderr, flush=True)
    print("\n".join(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
