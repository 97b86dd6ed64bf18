"""Shapes at the edges of what is accepted go through the real model (which resizes everything
to 320x320) without crashing; past the per-side cap they are refused before decoding."""

from __future__ import annotations

import pytest
from PIL import Image

from function.errors import ServiceError
from function.imaging.decode import DecodeLimits
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import remove_background
from tests.image_files import encoded, png_declaring
from tests.support import open_image

LIMITS = DecodeLimits(max_bytes=20 * 2**20, max_pixels=50_000_000)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (1, 16383), (16383, 1), (3, 9000)])
@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_tiny_and_thin_images_come_back_the_same_size(model, size, fmt):
    data = encoded(Image.new("RGB", size, (200, 30, 30)), "PNG")

    cutout = remove_background(data, RemovalOptions(format=fmt), model, LIMITS)

    assert (cutout.width, cutout.height) == size
    assert open_image(cutout.body).size == size


def test_a_one_pixel_wide_strip_at_the_pixel_cap_is_refused_by_the_side_cap(model):
    with pytest.raises(ServiceError) as refused:
        remove_background(png_declaring(1, 50_000_000), RemovalOptions(), model, LIMITS)

    assert (refused.value.status, refused.value.code) == (413, "image_too_many_pixels")
    assert "16383" in refused.value.message
