"""Product-photo options (issue 23): what each costs at 12 MP next to the plain cutout, and the docs' pictures.

    python -m benchmarks.product_photos                 # time and peak RSS per option, 12 MP, fresh processes
    python -m benchmarks.product_photos --rounds 3      # more rounds (medians)
    python -m benchmarks.product_photos --pictures docs/options   # before/after pictures, small files

Each request runs in a fresh process (its own peak RSS, VmHWM), as a warm function sees it: the model has
run twice before the request. Rounds interleave the option sets, so the load of a shared machine hits them
alike; the ratio column is against the plain cutout of the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
WORK = Path("/var/tmp/rembg-bench/product")
# The plain cutout first: every other row is measured against it.
OPTION_SETS = {
    "plain (png)": {},
    "format=jpg": {"format": "jpg"},
    "format=jpg&quality=75": {"format": "jpg", "quality": "75"},
    "bgcolor=ffffff (png)": {"bgcolor": "ffffff"},
    "shadow=true": {"shadow": "true"},
    "bg image (12 MP), auto": {"format": "auto", "background": "yes"},
    "crop+canvas=1000x1000+margin=5%+jpg": {"crop": "true", "canvas": "1000x1000", "margin": "5%", "format": "jpg"},
    "canvas=4000x3000+position=original": {"canvas": "4000x3000", "position": "original"},
    "roi=25%,0%,75%,100%": {"roi": "25%,0%,75%,100%"},
    "everything: tile+shadow+bg image+jpg": {
        "crop": "true",
        "canvas": "2000x2000",
        "margin": "5%",
        "shadow": "true",
        "format": "jpg",
        "background": "yes",
    },
}


def photo(megapixels: float, which: str = "astronaut") -> Path:
    """A real photo (skimage) resized to `megapixels` with LANCZOS, JPEG q90, cached."""
    path = WORK / f"{which}-{megapixels:g}mp.jpg"
    if not path.exists():
        from skimage import data as skdata

        source = Image.fromarray(getattr(skdata, which)())
        scale = (megapixels * 1e6 / (source.width * source.height)) ** 0.5
        WORK.mkdir(parents=True, exist_ok=True)
        size = (round(source.width * scale), round(source.height * scale))
        source.resize(size, Image.Resampling.LANCZOS).save(path, "JPEG", quality=90)
    return path


def child(photo_path: str, query: str, background_path: str) -> dict:
    from benchmarks.memory import peak_mb
    from function.runtime.coldstart import prepare_runtime

    prepare_runtime()
    from function.imaging.decode import DecodeLimits
    from function.imaging.model import BackgroundModel
    from function.imaging.options import options_from_text
    from function.imaging.pipeline import remove_background
    from function.settings import Settings

    settings = Settings()
    model = BackgroundModel(settings.model_name, settings.u2net_home)
    for _ in range(2):
        model.small_mask(Image.new("RGB", (64, 64)))
    values = json.loads(query)
    background = Path(background_path).read_bytes() if values.pop("background", None) else None
    data = Path(photo_path).read_bytes()
    limits = DecodeLimits(settings.max_input_bytes, settings.max_input_pixels)
    started = time.perf_counter()
    cutout = remove_background(data, options_from_text(values), model, limits, background=background)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "size": f"{cutout.width}x{cutout.height} {cutout.format}",
        "bytes": len(cutout.body),
    }


def measure(photo_path: Path, values: dict, background: Path) -> dict:
    env = {
        **os.environ,
        "MODEL_NAME": "u2netp",
        "U2NET_HOME": os.environ.get("U2NET_HOME", str(REPO / "models")),
        "PYTHONPATH": str(REPO),
        "NUMBA_CACHE_DIR": "/var/tmp/rembg-bench/numba-host",
    }
    command = [sys.executable, "-m", "benchmarks.product_photos", "--child", str(photo_path), json.dumps(values)]
    done = subprocess.run([*command, str(background)], capture_output=True, text=True, cwd=REPO, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(megapixels: float, rounds: int) -> str:
    subject, background = photo(megapixels), photo(megapixels, "coffee")
    runs: dict[str, list[dict]] = {name: [] for name in OPTION_SETS}
    for _ in range(rounds):
        for name, values in OPTION_SETS.items():
            runs[name].append(measure(subject, values, background))
            print(name, runs[name][-1], file=sys.stderr, flush=True)
    plain = runs["plain (png)"]
    rows = [
        f"| options ({megapixels:g} MP astronaut) | output | s | × plain | peak MB | × plain |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in runs.items():
        seconds = statistics.median(f["seconds"] for f in figures)
        peak = statistics.median(f["peak_mb"] for f in figures)
        time_ratio = statistics.median(f["seconds"] / p["seconds"] for f, p in zip(figures, plain, strict=True))
        peak_ratio = statistics.median(f["peak_mb"] / p["peak_mb"] for f, p in zip(figures, plain, strict=True))
        size = f"{figures[0]['size']} {figures[0]['bytes'] / 1e6:.1f} MB"
        rows.append(f"| {name} | {size} | {seconds:.2f} | {time_ratio:.2f} | {peak:.0f} | {peak_ratio:.2f} |")
    return "\n".join(rows)


# Before/after pictures for the docs: the photo, then the option's result, side by side, small.
PICTURES = {
    "format-jpg": ({"format": "jpg"}, False),
    "bgcolor": ({"bgcolor": "e8f0ff", "format": "jpg"}, False),
    "bg-image": ({"format": "auto"}, True),
    "shadow": ({"shadow": "true", "crop": "true", "canvas": "600x600", "margin": "8%", "format": "jpg"}, False),
    "canvas-tile": ({"crop": "true", "canvas": "600x600", "margin": "5%", "format": "jpg"}, False),
    "position-original": ({"canvas": "600x400", "position": "original", "bgcolor": "ffffff", "format": "jpg"}, False),
    "roi": ({"roi": "0%,0%,60%,100%", "bgcolor": "ffffff", "format": "jpg"}, False),
}
PICTURE_SIDE = 240


def pictures(folder: Path) -> None:
    """One JPEG per option: the photo (left) and the result (right), each at most PICTURE_SIDE px."""
    from skimage import data as skdata

    from function.imaging.decode import DecodeLimits
    from function.imaging.model import BackgroundModel
    from function.imaging.options import options_from_text
    from function.imaging.pipeline import remove_background
    from tests.support import jpeg_bytes, open_image

    model = BackgroundModel("u2netp", Path(os.environ.get("U2NET_HOME", REPO / "models")))
    data, background = jpeg_bytes(skdata.astronaut(), quality=95), jpeg_bytes(skdata.coffee(), quality=95)
    limits = DecodeLimits(50 << 20, 50_000_000)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (values, with_background) in PICTURES.items():
        cutout = remove_background(
            data, options_from_text(values), model, limits, background=background if with_background else None
        )
        before, after = open_image(data).convert("RGB"), open_image(cutout.body).convert("RGBA")
        for picture in (before, after):
            picture.thumbnail((PICTURE_SIDE, PICTURE_SIDE), Image.Resampling.LANCZOS)
        sheet = Image.new("RGB", (2 * PICTURE_SIDE + 12, PICTURE_SIDE), (255, 255, 255))
        checker = Image.new("RGBA", after.size, (255, 255, 255, 255))
        for y in range(0, after.height, 12):
            for x in range((y // 12 % 2) * 12, after.width, 24):
                checker.paste((214, 218, 226, 255), (x, y, x + 12, y + 12))
        sheet.paste(before, ((PICTURE_SIDE - before.width) // 2, (PICTURE_SIDE - before.height) // 2))
        shown = Image.alpha_composite(checker, after).convert("RGB")
        sheet.paste(shown, (PICTURE_SIDE + 12 + (PICTURE_SIDE - shown.width) // 2, (PICTURE_SIDE - shown.height) // 2))
        path = folder / f"{name}.jpg"
        sheet.save(path, "JPEG", quality=82)
        print(f"{path}: {path.stat().st_size / 1000:.0f} KB", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pictures", type=Path, help="write the before/after pictures into this folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    if args.pictures:
        pictures(args.pictures)
        return 0
    print(table(args.megapixels, args.rounds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
