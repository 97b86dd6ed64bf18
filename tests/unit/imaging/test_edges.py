"""Clean edges on a scene whose truth is known: a red disc with a soft rim, photographed on green."""

import numpy as np
import pytest
from PIL import Image

from function.imaging import banded, edges
from function.imaging.banded import Upscaler
from function.imaging.edges import MAX_SOFT_SHARE, SOFT_MAX, SOFT_MIN, EdgeColours, soft_share
from function.imaging.pipeline import _SUBJECT_LUT

RED, GREEN = np.array([200, 40, 40]), np.array([0, 200, 0])


def disc_on_green(size=400, radius=120, rim=14):
    """(photo, alpha): a disc whose alpha falls linearly over `rim` px, composed over green."""
    y, x = np.mgrid[:size, :size] + 0.5
    distance = np.hypot(x - size / 2, y - size / 2)
    alpha = np.clip((radius - distance) / rim + 0.5, 0, 1)
    pixels = alpha[..., None] * RED + (1 - alpha[..., None]) * GREEN
    return Image.fromarray(np.rint(pixels).astype(np.uint8)), Image.fromarray(np.rint(alpha * 255).astype(np.uint8))


def cut(photo, alpha, edges):
    rows = lambda y0, y1: alpha.crop((0, y0, alpha.width, y1))  # noqa: E731
    pixels, _ = banded.cutout(photo, rows, _SUBJECT_LUT, edges)
    return pixels


def test_the_rim_comes_out_red_not_green():
    photo, alpha = disc_on_green()
    edges = EdgeColours.estimate(photo, alpha.resize((320, 320), Image.Resampling.LANCZOS))

    clean, plain = cut(photo, alpha, edges), cut(photo, alpha, None)

    a = np.asarray(alpha)
    rim = (a >= 26) & (a < SOFT_MAX)  # where the rim shows (alpha at least 0.1)
    clean_error = np.abs(clean[..., :3][rim].astype(int) - RED).mean()
    plain_error = np.abs(plain[..., :3][rim].astype(int) - RED).mean()
    assert clean_error < 3, clean_error
    assert plain_error > 40, plain_error
    assert np.array_equal(clean[..., 3], a), "alpha is never changed"


def test_only_the_soft_band_is_unmixed():
    photo, alpha = disc_on_green()
    edges = EdgeColours.estimate(photo, alpha.resize((320, 320), Image.Resampling.LANCZOS))

    clean, plain = cut(photo, alpha, edges), cut(photo, alpha, None)

    a = np.asarray(alpha)
    faint, solid = a < SOFT_MIN, a >= SOFT_MAX
    assert np.array_equal(clean[faint], plain[faint]), "below SOFT_MIN: rembg's premultiplied colour"
    assert np.array_equal(clean[solid][:, :3], np.asarray(photo)[solid]), "from SOFT_MAX up: the photo's colour"


def mask_of(value: int, corners: bool = False) -> Image.Image:
    mask = Image.new("L", (320, 320), value)
    if corners:  # a little sure background and sure subject
        mask.paste(0, (0, 0, 20, 20))
        mask.paste(255, (300, 300, 320, 320))
    return mask


@pytest.mark.parametrize(
    "mask",
    [mask_of(0), mask_of(255), mask_of(128, corners=True)],
    ids=["all background", "all subject", "soft all over"],
)
def test_nothing_to_unmix_without_a_background_a_subject_and_an_edge_between(mask):
    photo, _ = disc_on_green()

    assert EdgeColours.estimate(photo, mask) is None


def checkerboard(cell: int = 1) -> Image.Image:
    """A 320x320 mask of sharp 0/255 squares: nothing soft on the small grid, soft all over once upscaled."""
    squares = (np.indices((320, 320)) // cell).sum(axis=0) % 2
    return Image.fromarray((squares * 255).astype(np.uint8))


def test_the_soft_share_is_the_upscaled_masks_the_cutout_unmixes():
    mask = checkerboard(2)
    size = (1500, 1100)

    full = np.asarray(Upscaler(mask, size).full())

    assert (np.asarray(mask) % 255 == 0).all()  # the small mask has no soft pixel
    assert soft_share(mask, size) == pytest.approx(((full >= SOFT_MIN) & (full < SOFT_MAX)).mean(), abs=0.005)
    assert soft_share(mask, size) > 0.5


def test_a_mask_soft_only_once_upscaled_keeps_rembgs_colours():
    photo, _ = disc_on_green(size=1200)

    assert EdgeColours.estimate(photo, checkerboard(2)) is None


def test_an_edge_is_cleaned_up_to_the_soft_pixel_budget_at_any_size(monkeypatch):
    # A wide soft ring: about 12 % of the picture soft, under the share guard at every size.
    rings = np.hypot(*np.indices((320, 320)) - 159.5)
    mask = Image.fromarray(np.clip((140 - rings) * 255 / 20, 0, 255).astype(np.uint8))
    photo, _ = disc_on_green(size=1000)
    share = soft_share(mask, photo.size)
    assert 0.05 < share < MAX_SOFT_SHARE

    assert EdgeColours.estimate(photo, mask) is not None
    monkeypatch.setattr(edges, "MAX_SOFT_PIXELS", int(share * 1000 * 1000) - 1)  # a photo this size just over it
    assert EdgeColours.estimate(photo, mask) is None
