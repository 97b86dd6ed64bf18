"""The pure pipeline's composition rules, with a stand-in mask so each rule is visible."""

import numpy as np
import pytest
from PIL import Image

from function.errors import InvalidOption
from function.imaging.decode import DecodeLimits
from function.imaging.options import Margin, RemovalOptions
from function.imaging.pipeline import Box, compose, remove_background, subject_box
from tests.support import open_image, png_bytes

LIMITS = DecodeLimits(max_bytes=10**6, max_pixels=10**6)


def square_mask(size=(100, 80), box=(20, 10, 60, 50)) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return mask


def test_subject_box_ignores_faint_noise():
    mask = square_mask()
    mask.putpixel((99, 79), 5)  # model noise far from the subject

    assert subject_box(mask) == Box(20, 10, 40, 40)
    assert subject_box(Image.new("L", (10, 10), 3)) is None


def test_cutout_keeps_the_subject_and_clears_the_rest():
    image = Image.new("RGB", (100, 80), (10, 200, 30))

    result, box = compose(image, square_mask(), RemovalOptions(), LIMITS)

    pixels = np.asarray(result)
    assert result.mode == "RGBA" and tuple(pixels[30, 40]) == (10, 200, 30, 255)
    assert tuple(pixels[0, 0]) == (0, 0, 0, 0)
    assert (box.left, box.top, box.width, box.height) == (20, 10, 40, 40)


def test_crop_returns_just_the_subject():
    result, box = compose(Image.new("RGB", (100, 80)), square_mask(), RemovalOptions(crop=True), LIMITS)

    assert result.size == (40, 40) and (box.left, box.top) == (0, 0)


def test_a_crop_margin_cannot_blow_a_small_image_past_the_size_limits():
    with pytest.raises(InvalidOption) as refused:
        compose(Image.new("RGB", (100, 80)), square_mask(), RemovalOptions(crop_margin=Margin(6000)), LIMITS)

    assert refused.value.code == "crop_margin_too_large"


def test_nothing_found_keeps_the_full_frame_and_an_empty_box():
    result, box = compose(Image.new("RGB", (100, 80)), Image.new("L", (100, 80)), RemovalOptions(crop=True), LIMITS)

    assert result.size == (100, 80) and box.width == 0


class FixedMask:
    def small_mask(self, image):
        return square_mask((320, 320), (40, 40, 160, 160))


def test_pipeline_reports_sizes_and_stage_timings():
    data = png_bytes(Image.new("RGB", (64, 48), "white"))

    cutout = remove_background(data, RemovalOptions(format="webp"), FixedMask(), DecodeLimits(10**6, 10**6))

    assert (cutout.width, cutout.height, cutout.content_type) == (64, 48, "image/webp")
    assert open_image(cutout.body).format == "WEBP"
    assert set(cutout.stage_ms) == {"decode", "infer", "compose", "encode"}


def test_unknown_formats_are_refused():
    with pytest.raises(InvalidOption):
        RemovalOptions(format="gif")
