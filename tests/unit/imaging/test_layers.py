"""The band-by-band pieces of product photos give what the one-call Pillow operations give."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from function.imaging import banded, layers
from function.imaging.options import Canvas, Margin


@pytest.fixture(scope="module")
def rgba() -> np.ndarray:
    pixels = np.asarray(Image.fromarray(skdata.astronaut()).convert("RGBA")).copy()
    pixels[..., 3] = np.linspace(0, 255, 512).astype(np.uint8)[np.newaxis, :]  # every alpha, so premultiplying shows
    return pixels


@pytest.mark.parametrize("size", [(300, 300), (137, 512), (900, 700), (512, 100)])
def test_banded_resize_is_pillows_premultiplied_lanczos_exactly(rgba, size):
    expected = np.asarray(Image.fromarray(rgba).resize(size, Image.Resampling.LANCZOS))

    assert np.array_equal(layers.resized(rgba, size), expected)
    grey = np.ascontiguousarray(rgba[..., 0])
    assert np.array_equal(layers.resized(grey, size), np.asarray(Image.fromarray(grey).resize(size, Image.LANCZOS)))


def test_the_mask_upscaled_on_demand_has_the_rows_of_the_whole_mask():
    small = Image.fromarray(skdata.camera()).resize((320, 320))
    upscaler = banded.Upscaler(small, (1500, 900))
    whole = upscaler.full()
    lazy = banded.UpscaledMask(banded.Upscaler(small, (1500, 900)))

    for box in [(0, 0, 1500, 900), (100, 37, 1400, 555), (-20, -30, 1600, 950)]:
        assert np.array_equal(np.asarray(lazy.crop(box)), np.asarray(whole.crop(box)))
    assert lazy.bbox([255 if v > 10 else 0 for v in range(256)]) == whole.point(lambda v: 255 * (v > 10)).getbbox()


def test_a_region_of_interest_reads_zero_outside_it():
    small = Image.new("L", (320, 320), 255)
    lazy = banded.UpscaledMask(banded.Upscaler(small, (100, 80)), keep=(10, 20, 60, 70))

    mask = np.asarray(lazy.crop((0, 0, 100, 80)))
    assert (mask[20:70, 10:60] == 255).all() and mask.sum() == 255 * 50 * 50


def test_fits_cover_contain_and_stretch():
    assert layers.fitted((200, 100), (400, 400), "cover") == ((0, 100, 400, 300), (0, 0, 200, 100))
    assert layers.fitted((200, 100), (400, 400), "contain") == ((0, 0, 400, 400), (50, 0, 150, 100))
    assert layers.fitted((200, 100), (400, 400), "stretch") == ((0, 0, 400, 400), (0, 0, 200, 100))


def test_on_a_canvas_the_subject_is_centred_inside_the_margin_and_never_enlarged_unless_asked():
    subject = (100, 50, 200, 100)  # left, top, width, height in a 400x300 area
    fit = layers.on_canvas((400, 300), subject, Canvas(1000, 1000, margin=Margin(10, percent=True)))
    enlarged = layers.on_canvas((400, 300), subject, Canvas(1000, 1000, margin=Margin(100), upscale=True))
    framed = layers.on_canvas((400, 300), subject, Canvas(200, 200, position="original"))

    assert fit.scale == 1 and (fit.left + 100 + 100, fit.top + 50 + 50) == (500, 500)
    assert enlarged.scale == 4 and (enlarged.left + 4 * 200, enlarged.top + 4 * 100) == (500, 500)
    assert framed.scale == 0.5 and framed.size == (200, 150) and (framed.left, framed.top) == (0, 25)
