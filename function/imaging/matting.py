"""Alpha matting (rembg's alpha_matting_cutout), priced by its trimap before pymatting solves it. Pure.

pymatting's closed-form solve costs more than linearly in the trimap's unknown pixels (the band between
the foreground and background thresholds, widened by erode_size on both sides), and only those knobs
and the mask decide how many there are. So the trimap is built here as rembg builds it and counted; past
MAX_UNKNOWN_PIXELS the request is refused naming the knobs, before any solving. Then pymatting runs on
that trimap with rembg's steps and numbers. Hand-written: rembg takes no trimap and returns no count.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from function.errors import ErrorCode, InputTooLarge
from function.imaging.options import Matting

# Unknown pixels the solve may get: with them the request costs at most 1.5x a 50 MP photo's
# (docs/performance.md, worst cases). A real photo at the 0.5 MP matting cap with rembg's defaults
# leaves ~9 % of itself (45,000 pixels) unknown.
MAX_UNKNOWN_PIXELS = 60_000
UNKNOWN = 128


def trimap(mask: np.ndarray, matting: Matting) -> np.ndarray:
    """rembg's trimap: 255 surely subject, 0 surely background (each eroded by erode_size), 128 unknown."""
    from scipy.ndimage import binary_erosion

    def eroded(sure: np.ndarray, border: int) -> np.ndarray:
        size = matting.erode_size
        if size == 0:  # rembg passes no structure: scipy's 3x3 cross, once
            return np.asarray(binary_erosion(sure, border_value=border), bool)
        # A size x size square, as a row then a column: the same pixels, size*2 steps instead of size².
        rows = binary_erosion(sure, structure=np.ones((1, size), bool), border_value=border)
        return np.asarray(binary_erosion(rows, structure=np.ones((size, 1), bool), border_value=border), bool)

    result = np.full(mask.shape, UNKNOWN, np.uint8)
    result[eroded(mask > matting.foreground_threshold, 0)] = 255
    result[eroded(mask < matting.background_threshold, 1)] = 0
    return result


def check_unknown(unknown: int, matting: Matting) -> None:
    if unknown > MAX_UNKNOWN_PIXELS:
        raise InputTooLarge(
            f"alpha matting would solve for {unknown:,} unknown pixels, the band between "
            f"alpha_matting_foreground_threshold={matting.foreground_threshold} and "
            f"alpha_matting_background_threshold={matting.background_threshold} widened by "
            f"alpha_matting_erode_size={matting.erode_size}; the limit is {MAX_UNKNOWN_PIXELS:,} (bring the "
            "thresholds closer to 240 and 10, lower erode_size, or shrink the image with scale=)",
            code=ErrorCode.ALPHA_MATTING_TOO_LARGE,
        )


def alpha_matte(image: Image.Image, mask: Image.Image, matting: Matting) -> Image.Image | None:
    """The matted cutout (RGBA), or None where pymatting gives up (no sure subject or background)."""
    from function.runtime.coldstart import load_rembg_bg  # pymatting is imported on the first request that needs it

    regions = trimap(np.asarray(mask), matting)
    check_unknown(int(np.count_nonzero(regions == UNKNOWN)), matting)
    bg = load_rembg_bg()  # after the check: a refusal does not load pymatting
    picture = np.asarray(image.convert("RGB") if image.mode in ("RGBA", "CMYK") else image) / 255.0
    try:
        alpha = bg.estimate_alpha_cf(picture, regions / 255.0)
    except ValueError:
        return None
    foreground = bg.estimate_foreground_ml(picture, alpha)
    return Image.fromarray(np.clip(bg.stack_images(foreground, alpha) * 255, 0, 255).astype(np.uint8))
