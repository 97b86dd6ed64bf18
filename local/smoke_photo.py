"""Writes local/smoke-photo.jpg, the photo `make smoke` sends: run once, the JPEG is committed.

scikit-image's astronaut (Eileen Collins, 512x512; NASA, "no known copyright restrictions, released
into the public domain" per skimage.data.astronaut's notes) as a 53 KB JPEG: a real photo with a
person in front of a background, small enough to cost a deployed stack next to nothing per run.
The smoke itself must not need scikit-image, hence a file rather than this code at run time.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data

PHOTO = Path(__file__).with_name("smoke-photo.jpg")


def main() -> None:
    Image.fromarray(data.astronaut()).save(PHOTO, "JPEG", quality=85, optimize=True)
    print(f"wrote {PHOTO} ({PHOTO.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
