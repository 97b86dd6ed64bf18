"""Edge quality: how much of the old background stays in a cutout's soft edge, and what removing it costs.

    python -m benchmarks.edges                  # 3 photos x 4 backgrounds, timings at 0.25 and 12 MP (~5 min)
    python -m benchmarks.edges --quick          # 1 photo x 2 backgrounds, 0.25 MP timings only
    python -m benchmarks.edges --picture docs/clean-edges.png   # also draw before/after crops of an edge

Inputs are synthetic composites (tests/composites.py): a real photo's colours F and the model's own
soft mask of it A, composed over a saturated background. Every variant runs on the same u2netp
session (so the alpha comes from the same model) on the same lossless PNG:

  rembg.remove                      rembg's default cutout (naive_cutout: the colour premultiplied by alpha)
  ours, decontaminate=false         the pipeline with clean edges off (rembg's pixels exactly)
  rembg, decontaminate=True         pymatting's estimate_foreground_ml over the whole photo: the maintained
                                    implementation, as rembg runs it
  ours                              the default: function/imaging/edges.py, inside the banded pipeline

Edge error: mean |cutout colour - F| over the soft band 0.1 < A < 0.9 where the cutout shows the pixel
(its alpha >= 0.1), in levels of 255. "All band pixels" also counts the ones the cutout leaves
transparent. Timings run interleaved in one process; medians; the ratio is against rembg.remove.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
WORK = Path("/var/tmp/rembg-bench")
TIMING_SIZES_MP = (0.25, 12.0)
VARIANTS = ("rembg.remove", "ours, decontaminate=false", "rembg, decontaminate=True", "ours")
# The edges drawn by --picture: photo, background, crop box (left, top, right, bottom) of the native photo.
PICTURE_CROPS = (("astronaut", "green", (140, 10, 220, 90)), ("coffee", "green", (95, 60, 175, 140)))
PICTURE_BACKDROPS = {"white": (255, 255, 255, 255), "dark grey": (40, 40, 40, 255)}


def runners(model, limits):
    """Variant name -> (PNG bytes -> cutout bytes)."""
    import rembg

    from function.imaging.options import RemovalOptions
    from function.imaging.pipeline import remove_background

    session = model.session
    return {
        "rembg.remove": lambda data: rembg.remove(data, session=session),
        "ours, decontaminate=false": lambda data: (
            remove_background(data, RemovalOptions(decontaminate=False), model, limits).body
        ),
        "rembg, decontaminate=True": lambda data: rembg.remove(data, session=session, decontaminate=True),
        "ours": lambda data: remove_background(data, RemovalOptions(), model, limits).body,
    }


def quality(run, scenes) -> str:
    """One row per photo: the edge error averaged over its backgrounds, and its worst background."""
    from tests.composites import decoded

    errors: dict[str, dict[str, list[float]]] = {}  # photo -> variant -> per background
    every_band_pixel = {name: [] for name in VARIANTS}
    worst: dict[str, tuple[float, str]] = {}
    alpha_gaps = []
    for (photo, background), scene in scenes.items():
        data = scene.png()
        cutouts = {name: decoded(run[name](data)) for name in VARIANTS}
        row = {name: scene.edge_error(cutout) for name, cutout in cutouts.items()}
        for name, cutout in cutouts.items():
            errors.setdefault(photo, {}).setdefault(name, []).append(row[name])
            every_band_pixel[name].append(scene.edge_error(cutout, visible_only=False))
        worst[photo] = max(worst.get(photo, (0.0, "")), (row["ours"] / row["rembg.remove"], background))
        alpha_gaps.append(np.abs(cutouts["ours"][..., 3].astype(int) - cutouts["rembg.remove"][..., 3]).mean())
        print(f"  {photo} over {background}: " + ", ".join(f"{n} {row[n]:.1f}" for n in VARIANTS), file=sys.stderr)
    lines = [
        "| photo (mean over backgrounds) | " + " | ".join(VARIANTS) + " | ours / rembg.remove (worst background) |",
        "|---|" + "---|" * (len(VARIANTS) + 1),
    ]
    for photo, by_variant in errors.items():
        mean = {name: statistics.mean(values) for name, values in by_variant.items()}
        ratio, background = worst[photo]
        lines.append(
            f"| {photo} | "
            + " | ".join(f"{mean[n]:.1f}" for n in VARIANTS)
            + f" | {mean['ours'] / mean['rembg.remove']:.2f} ({background} {ratio:.2f}) |"
        )
    overall = {
        name: statistics.mean(v for by_variant in errors.values() for v in by_variant[name]) for name in VARIANTS
    }
    lines.append(
        f"| **all {len(scenes)} scenes** | "
        + " | ".join(f"**{overall[n]:.1f}**" for n in VARIANTS)
        + f" | **{overall['ours'] / overall['rembg.remove']:.2f}** |"
    )
    everything = {name: statistics.mean(values) for name, values in every_band_pixel.items()}
    lines.append(
        "| all band pixels, shown or not | "
        + " | ".join(f"{everything[n]:.1f}" for n in VARIANTS)
        + f" | {everything['ours'] / everything['rembg.remove']:.2f} |"
    )
    lines.append("")
    lines.append(
        f"Mean |alpha - rembg.remove's alpha| of ours: {statistics.mean(alpha_gaps):.4f} / 255 "
        f"(worst scene {max(alpha_gaps):.4f})."
    )
    return "\n".join(lines)


def timings(run, scene, sizes: tuple[float, ...], repetitions: int) -> str:
    lines = ["| size | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
    for megapixels in sizes:
        data = scene.resized(round((megapixels * 1e6) ** 0.5)).jpeg()
        rounds = repetitions if megapixels <= 2 else max(2, repetitions // 2)
        times = {name: [] for name in VARIANTS}
        for rep in range(rounds + 1):  # the first round warms up and is discarded
            for name in VARIANTS:
                started = time.perf_counter()
                run[name](data)
                if rep:
                    times[name].append(time.perf_counter() - started)
        median = {name: statistics.median(values) for name, values in times.items()}
        base = median["rembg.remove"]
        lines.append(
            f"| {megapixels:g} MP (n={rounds}) | "
            + " | ".join(f"{median[n]:.3f} s ({median[n] / base:.2f}x)" for n in VARIANTS)
            + " |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def picture(run, scenes, path: Path) -> None:
    """Crops of an edge: the composite, then rembg.remove's cutout and ours over new backdrops, enlarged 3x."""
    from PIL import Image, ImageDraw

    from tests.composites import decoded

    zoom, label = 3, 22
    titles = ["input (composite)"] + [
        f"{name}, over {backdrop}" for backdrop in PICTURE_BACKDROPS for name in ("rembg.remove", "ours")
    ]
    rows = []
    for photo, background, box in PICTURE_CROPS:
        scene = scenes.get((photo, background))
        if scene is None:
            continue
        data = scene.png()
        cutouts = {name: Image.fromarray(decoded(run[name](data))) for name in ("rembg.remove", "ours")}
        tiles = [Image.fromarray(scene.pixels)]
        for colour in PICTURE_BACKDROPS.values():
            for cutout in cutouts.values():
                tiles.append(Image.alpha_composite(Image.new("RGBA", cutout.size, colour), cutout).convert("RGB"))
        rows.append(
            [
                tile.crop(box).resize(((box[2] - box[0]) * zoom, (box[3] - box[1]) * zoom), Image.Resampling.NEAREST)
                for tile in tiles
            ]
        )
    if not rows:
        return
    width = sum(tile.width for tile in rows[0]) + 2 * (len(titles) - 1)
    height = label + sum(row[0].height for row in rows) + 2 * (len(rows) - 1)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for title, tile in zip(titles, rows[0], strict=True):
        draw.text((x + 4, 4), title, fill=(0, 0, 0))
        x += tile.width + 2
    y = label
    for row in rows:
        x = 0
        for tile in row:
            sheet.paste(tile, (x, y))
            x += tile.width + 2
        y += row[0].height + 2
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
    print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 photo x 2 backgrounds, 0.25 MP timings only")
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--picture", type=Path, default=None, help="write before/after crops of an edge here")
    args = parser.parse_args(argv)
    # rembg imports pymatting (numba): a writable cache that survives runs, set before numba loads.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(WORK / "numba-host"))
    from function.runtime.coldstart import prepare_runtime

    prepare_runtime()
    from function.imaging.decode import DecodeLimits
    from function.imaging.model import BackgroundModel
    from function.runtime.prepare import u2netp_from_pypi
    from tests.composites import BACKGROUNDS, PHOTOS, compose, photo, subject_alpha

    u2netp_from_pypi(REPO / "models")
    model = BackgroundModel("u2netp", REPO / "models")
    run = runners(model, DecodeLimits(max_bytes=1 << 30, max_pixels=100_000_000))
    photos = PHOTOS[:1] if args.quick else PHOTOS
    backgrounds = list(BACKGROUNDS)[:2] if args.quick else list(BACKGROUNDS)
    scenes = {}
    for name in photos:
        subject = photo(name)
        alpha = subject_alpha(model, subject)
        for background in backgrounds:
            scenes[(name, background)] = compose(subject, alpha, BACKGROUNDS[background])
    print("Edge error (levels of 255; lower is better):\n\n" + quality(run, scenes) + "\n", flush=True)
    sizes = TIMING_SIZES_MP[:1] if args.quick else TIMING_SIZES_MP
    repetitions = args.repetitions or (2 if args.quick else 5)
    print(
        "Time per image (JPEG q95 in, PNG out; ratio to rembg.remove):\n\n"
        + timings(run, scenes[(photos[0], backgrounds[0])], sizes, repetitions),
        flush=True,
    )
    if args.picture:
        picture(run, scenes, args.picture)
    return 0


if __name__ == "__main__":
    sys.exit(main())
