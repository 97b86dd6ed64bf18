"""What respecting embedded ICC profiles costs: decode with and without the sRGB conversion.

Run: python -m benchmarks.icc_cost   (prints ms per decode for a few sizes and profiles)
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from PIL import Image

from function.imaging import colour
from function.imaging.decode import DecodeLimits, decode_image
from tests.image_files import SRGB_BLUE, SRGB_GREEN, SRGB_RED, encoded, rgb_icc_profile

LIMITS = DecodeLimits(max_bytes=200 * 2**20, max_pixels=50_000_000)
# Display-P3-like primaries (D50-adapted), the profile most phone photos carry.
P3 = rgb_icc_profile((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841), "Display P3")
SRGB_NAMED = rgb_icc_profile(SRGB_RED, SRGB_GREEN, SRGB_BLUE, "sRGB IEC61966-2.1")


def timed(data: bytes, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        decode_image(data, LIMITS)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    rng = np.random.default_rng(0)
    for width, height, runs in ((512, 512, 30), (2000, 1500, 10), (4000, 3000, 5)):
        picture = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        plain = encoded(picture, "JPEG", quality=90)
        p3 = encoded(picture, "JPEG", quality=90, icc_profile=P3)
        named = encoded(picture, "JPEG", quality=90, icc_profile=SRGB_NAMED)
        cmyk = encoded(picture.convert("CMYK"), "JPEG", quality=90)
        base, with_p3, with_srgb, cmyk_ms = timed(plain, runs), timed(p3, runs), timed(named, runs), timed(cmyk, runs)
        mp = width * height / 1e6
        print(
            f"{width}x{height} ({mp:.1f} MP): decode {base:.1f} ms; +P3->sRGB {with_p3 - base:+.1f} ms "
            f"({(with_p3 - base) / mp:.1f} ms/MP); sRGB-named profile {with_srgb - base:+.1f} ms; CMYK naive {cmyk_ms:.1f} ms"
        )
    colour._TRANSFORMS.clear()
    started = time.perf_counter()
    colour.icc_to_srgb(Image.new("RGB", (1, 1)), P3)
    print(
        f"building one transform (first use of a profile, then cached): {(time.perf_counter() - started) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
