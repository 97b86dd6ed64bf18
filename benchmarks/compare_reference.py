"""Compare our cutout of a photo with a reference cutout someone else made (e.g. rembg's own
test fixtures: `anime-girl-1.jpg` and its expected `anime-girl-1.u2netp.png`).

    python -m benchmarks.compare_reference PHOTO REFERENCE_PNG [--model u2netp]

Prints the mean absolute alpha difference per pixel, out of 255.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("reference", type=Path)
    parser.add_argument("--model", default="u2netp")
    args = parser.parse_args(argv)
    os.environ.setdefault("U2NET_HOME", str(Path(__file__).resolve().parents[1] / "models"))

    from function.runtime.coldstart import prepare_runtime

    prepare_runtime()
    from function.imaging.decode import DecodeLimits
    from function.imaging.model import BackgroundModel
    from function.imaging.options import RemovalOptions
    from function.imaging.pipeline import remove_background

    model = BackgroundModel(args.model, Path(os.environ["U2NET_HOME"]))
    cutout = remove_background(args.photo.read_bytes(), RemovalOptions(), model, DecodeLimits(1 << 30, 10**8))
    ours = np.asarray(Image.open(io.BytesIO(cutout.body)).convert("RGBA"))[..., 3].astype(int)
    reference = np.asarray(Image.open(args.reference).convert("RGBA"))[..., 3].astype(int)
    print(f"{args.photo.name}: mean |alpha - reference alpha| = {np.abs(ours - reference).mean():.4f} / 255")


if __name__ == "__main__":
    main()
