"""The pure pipeline's composition rules, with a stand-in mask so each rule is visible."""

import numpy as np
import pytest
from PIL import Image

from function.errors import InvalidOption, ServiceError
from function.imaging import banded as banded_module
from function.imaging.banded import render
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

    pixels, box = compose(image, square_mask(), RemovalOptions(), LIMITS)

    assert pixels.shape == (80, 100, 4) and tuple(pixels[30, 40]) == (10, 200, 30, 255)
    assert tuple(pixels[0, 0]) == (0, 0, 0, 0)
    assert (box.left, box.top, box.width, box.height) == (20, 10, 40, 40)


def test_crop_returns_just_the_subject():
    pixels, box = compose(Image.new("RGB", (100, 80)), square_mask(), RemovalOptions(crop=True), LIMITS)

    assert pixels.shape[:2] == (40, 40) and (box.left, box.top) == (0, 0)


def test_a_crop_margin_cannot_blow_a_small_image_past_the_size_limits():
    with pytest.raises(InvalidOption) as refused:
        compose(Image.new("RGB", (100, 80)), square_mask(), RemovalOptions(crop_margin=Margin(6000)), LIMITS)

    assert refused.value.code == "crop_margin_too_large"


def test_nothing_found_keeps_the_full_frame_and_an_empty_box():
    pixels, box = compose(Image.new("RGB", (100, 80)), Image.new("L", (100, 80)), RemovalOptions(crop=True), LIMITS)

    assert pixels.shape[:2] == (80, 100) and box.width == 0


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


def whole_picture_compose(image, mask, area, only_mask, bgcolor, matte):
    """The composition as one whole-picture step each (the code before it was banded)."""
    result = (
        mask
        if only_mask
        else matte
        if matte is not None
        else Image.composite(image.convert("RGBA"), Image.new("RGBA", image.size, 0), mask)
    )
    result = result.crop(area)
    if bgcolor is not None and not only_mask:
        result = Image.alpha_composite(Image.new("RGBA", result.size, bgcolor), result)
        if bgcolor[3] == 255:
            result = result.convert("RGB")
    return np.asarray(result)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize(
    "area", [(0, 0, 300, 200), (40, 30, 250, 180), (-60, -25, 340, 230)], ids=["full", "crop", "padded"]
)
@pytest.mark.parametrize(
    "only_mask, bgcolor, with_matte",
    [
        (False, None, False),
        (True, None, False),
        (False, (0, 0, 255, 255), False),
        (False, (0, 255, 0, 128), False),
        (True, (0, 0, 255, 255), False),
        (False, None, True),
        (False, (255, 255, 255, 255), True),
    ],
    ids=["cutout", "mask", "opaque-bgcolor", "translucent-bgcolor", "mask-ignores-bgcolor", "matte", "matte-bgcolor"],
)
def test_banded_rendering_gives_the_whole_picture_pixels(mode, area, only_mask, bgcolor, with_matte):
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 256, (200, 300, len(mode)), dtype=np.uint8), mode)
    mask = Image.fromarray(rng.integers(0, 256, (200, 300), dtype=np.uint8), "L")
    matte = Image.fromarray(rng.integers(0, 256, (200, 300, 4), dtype=np.uint8), "RGBA") if with_matte else None

    banded = render(image, mask, area, only_mask=only_mask, bgcolor=bgcolor, matte=matte)

    expected = whole_picture_compose(image, mask, area, only_mask, bgcolor, matte)
    assert banded.shape == expected.shape and np.array_equal(banded, expected)


def test_a_failure_after_decoding_is_refused_as_unprocessable_not_raised(monkeypatch):
    # A fault the real libraries do not produce on demand: the composition step raising.
    def broken(*args, **kwargs):
        raise TypeError("a library bug")

    monkeypatch.setattr(banded_module, "render", broken)
    data = png_bytes(Image.new("RGBA", (64, 48), (1, 2, 3, 200)))

    with pytest.raises(ServiceError) as refused:
        remove_background(data, RemovalOptions(bgcolor=(0, 0, 0, 255)), FixedMask(), DecodeLimits(10**6, 10**6))

    assert refused.value.code == "image_unprocessable" and refused.value.status == 422


def test_webp_results_over_their_limit_are_refused_before_the_work_unless_cropping_shrinks_them():
    data = png_bytes(Image.new("RGB", (64, 48), "white"))
    limits = DecodeLimits(10**6, 10**6)

    with pytest.raises(ServiceError) as refused:
        remove_background(data, RemovalOptions(format="webp"), FixedMask(), limits, webp_max_pixels=64 * 48 - 1)
    assert refused.value.code == "webp_too_large" and refused.value.status == 413

    cropped = remove_background(
        data, RemovalOptions(format="webp", crop=True), FixedMask(), limits, webp_max_pixels=1000
    )
    assert cropped.width * cropped.height <= 1000 < 64 * 48
    assert (
        remove_background(data, RemovalOptions(format="webp"), FixedMask(), limits, webp_max_pixels=64 * 48).width == 64
    )
