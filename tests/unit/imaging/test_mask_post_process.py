"""post_process_mask runs rembg's own post_process in overlapping bands: the result must be the one call's."""

import numpy as np
from PIL import Image, ImageFilter

from function.imaging import banded
from function.runtime.coldstart import load_rembg_bg


def test_banded_post_process_equals_rembgs_on_the_whole_mask():
    post_process = load_rembg_bg().post_process  # rembg's own function, imported as the service imports it

    rng = np.random.default_rng(7)
    # 1200 x 900: over 2 MB as RGBA rows, so at least 3 bands whatever the CPU count.
    noise = Image.fromarray((rng.random((1200, 900)) * 255).astype(np.uint8))
    mask = noise.filter(ImageFilter.GaussianBlur(12)).point(lambda v: min(255, max(0, (v - 118) * 12)))

    ours = np.asarray(banded.post_process_mask(mask))

    assert np.array_equal(ours, post_process(np.asarray(mask)))
    assert set(np.unique(ours)) <= {0, 255}
