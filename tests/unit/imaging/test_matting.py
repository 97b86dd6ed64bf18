"""Alpha matting is priced by its trimap: rembg's trimap, counted before pymatting solves it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from function.errors import ErrorCode, InputTooLarge
from function.imaging.matting import MAX_UNKNOWN_PIXELS, UNKNOWN, check_unknown, trimap
from function.imaging.options import ERODE_RANGE, Matting


def rembgs_trimap(mask: np.ndarray, matting: Matting) -> np.ndarray:
    """rembg.bg.alpha_matting_cutout's first lines, as it writes them."""
    is_foreground = mask > matting.foreground_threshold
    is_background = mask < matting.background_threshold
    structure = None
    if matting.erode_size > 0:
        structure = np.ones((matting.erode_size, matting.erode_size), dtype=np.uint8)
    is_foreground = binary_erosion(is_foreground, structure=structure)
    is_background = binary_erosion(is_background, structure=structure, border_value=1)
    result = np.full(mask.shape, dtype=np.uint8, fill_value=128)
    result[is_foreground] = 255
    result[is_background] = 0
    return result


def soft_blobs(size: int = 160) -> np.ndarray:
    """A mask with sure subject, sure background and soft ramps, touching the borders."""
    y, x = np.mgrid[:size, :size]
    waves = np.sin(x / 9.0) * np.cos(y / 13.0) + 0.3 * np.sin((x + 2 * y) / 5.0)
    return np.clip((waves + 0.4) * 200, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("erode_size", [0, 1, 2, 3, 10, 11, ERODE_RANGE[1]])
@pytest.mark.parametrize("thresholds", [(240, 10), (250, 5), (128, 127)])
def test_the_trimap_is_rembgs_pixel_for_pixel(erode_size, thresholds):
    matting = Matting(*thresholds, erode_size=erode_size)
    mask = soft_blobs()

    assert np.array_equal(trimap(mask, matting), rembgs_trimap(mask, matting))


def test_wider_knobs_widen_the_unknown_band():
    mask = soft_blobs(400)

    def unknown(matting: Matting) -> int:
        return int(np.count_nonzero(trimap(mask, matting) == UNKNOWN))

    assert unknown(Matting()) < unknown(Matting(250, 5)) < unknown(Matting(250, 5, erode_size=40))


def test_a_trimap_past_the_limit_is_refused_naming_the_knobs():
    matting = Matting(foreground_threshold=250, background_threshold=5, erode_size=40)

    check_unknown(MAX_UNKNOWN_PIXELS, matting)
    with pytest.raises(InputTooLarge) as caught:
        check_unknown(MAX_UNKNOWN_PIXELS + 1, matting)

    assert caught.value.code is ErrorCode.ALPHA_MATTING_TOO_LARGE and caught.value.status == 413
    for knob in (
        "alpha_matting_foreground_threshold=250",
        "alpha_matting_background_threshold=5",
        "alpha_matting_erode_size=40",
        "scale=",
    ):
        assert knob in caught.value.message
