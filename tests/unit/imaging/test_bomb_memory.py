"""Refusing a decompression bomb costs almost no memory: < 50 MB, 20 times over. The time each
refusal took is printed beside it, not asserted (a loaded machine is no yardstick).

Measured in a fresh subprocess so the peak RSS (VmHWM) is this work's own, not the test
session's (which already holds a model): a transient multi-GB canvas would show there even
if it was freed before the refusal returned. VmPeak (virtual) is checked too, because libwebp
callocs its canvas: untouched pages cost no RSS but are still reserved address space.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_inputs import (
    avif_bomb,
    bmp_bomb,
    gif_bomb,
    heic_bomb,
    jpeg_bomb,
    just_over_the_pixel_cap,
    png_bomb,
    tiff_bomb,
    webp_bomb,
    webp_canvas_bomb,
)

ROOT = Path(__file__).resolve().parents[3]
BOMBS = [
    png_bomb,
    gif_bomb,
    webp_bomb,
    webp_canvas_bomb,
    jpeg_bomb,
    tiff_bomb,
    bmp_bomb,
    heic_bomb,
    avif_bomb,
    just_over_the_pixel_cap,
]
RUNS = 20

MEASURE = (
    f"RUNS = {RUNS}\n"
    + """
import json, sys, time
from function.errors import ServiceError
from function.imaging.decode import DecodeLimits, decode_image
from tests import hostile_inputs

def rss_kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

limits = DecodeLimits(max_bytes=20 * 2**20, max_pixels=50_000_000)
for warm_up in hostile_inputs.seed_images(16).values():  # imports, plugin registration, lazy init
    decode_image(warm_up, limits)
results = {}
for name in sys.argv[1:]:
    _, data, _ = getattr(hostile_inputs, name)()
    before_rss, before_peak, before_vm = rss_kb("VmRSS"), rss_kb("VmHWM"), rss_kb("VmPeak")
    slowest, codes = 0.0, set()
    for _ in range(RUNS):
        started = time.perf_counter()
        try:
            decode_image(data, limits)
            codes.add("accepted")
        except ServiceError as error:
            codes.add(error.code)
        slowest = max(slowest, time.perf_counter() - started)
    results[name] = {
        "bytes": len(data), "slowest_ms": slowest * 1000, "codes": sorted(codes),
        "rss_growth_mb": (rss_kb("VmRSS") - before_rss) / 1024, "peak_growth_mb": (rss_kb("VmHWM") - before_peak) / 1024,
        "vm_peak_growth_mb": (rss_kb("VmPeak") - before_vm) / 1024,
        # Not getrusage's ru_maxrss: Linux carries it over fork+exec from the (big) pytest parent.
        "process_peak_mb": rss_kb("VmHWM") / 1024,
    }
print(json.dumps(results))
"""
)


@pytest.fixture(scope="module")
def figures() -> dict:
    names = [bomb.__name__ for bomb in BOMBS]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *names], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("bomb", BOMBS, ids=lambda bomb: bomb.__name__)
def test_bombs_are_refused_without_memory(bomb, figures, capsys):
    name, _, code = bomb()
    figure = figures[bomb.__name__]
    with capsys.disabled():
        print(
            f"\n{name}: {figure['bytes']} bytes, refused {RUNS}x as {figure['codes']}, slowest {figure['slowest_ms']:.2f} ms, "
            f"RSS growth {figure['rss_growth_mb']:.2f} MB, peak RSS growth {figure['peak_growth_mb']:.2f} MB, "
            f"peak virtual growth {figure['vm_peak_growth_mb']:.2f} MB "
            f"(process peak RSS {figure['process_peak_mb']:.0f} MB)"
        )

    assert figure["codes"] == [code]
    assert figure["rss_growth_mb"] < 50 and figure["peak_growth_mb"] < 50
    # Virtual too: a lazily-zeroed calloc'd canvas barely touches RSS but is still reserved.
    assert figure["vm_peak_growth_mb"] < 50
