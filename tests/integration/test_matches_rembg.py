"""Our cutout against rembg.remove on the same photo and session: alpha within 1/255 on average,
colours (with clean edges off) composed exactly as rembg's naive_cutout, and the PNG holds exactly
the alpha we computed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut

from function.imaging.banded import Upscaler
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import remove_background
from tests.support import jpeg_bytes

# A peer's reference cutout made by rembg with u2netp; used when present, never committed.
LIMITS = DecodeLimits(max_bytes=50 << 20, max_pixels=50_000_000)
MAX_MEAN_ALPHA_DIFF = 1.0  # in 0-255 units, i.e. 1/255


def decoded(body: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(body))
    image.load()
    assert image.format == "PNG" and image.mode == "RGBA"
    return np.asarray(image)


def photo(side: int) -> bytes:
    array = np.asarray(Image.fromarray(astronaut()).resize((side, side), Image.Resampling.LANCZOS))
    return jpeg_bytes(array)


@pytest.mark.parametrize("side", [512, 1414])  # 0.25 MP and 2 MP
def test_alpha_matches_rembg_and_png_is_exactly_what_we_computed(model, side):
    import rembg

    data = photo(side)
    clean = decoded(remove_background(data, RemovalOptions(), model, LIMITS).body)
    ours = decoded(remove_background(data, RemovalOptions(decontaminate=False), model, LIMITS).body)
    reference = decoded(rembg.remove(data, session=model.session))

    difference = np.abs(ours[..., 3].astype(int) - reference[..., 3]).mean()
    print(f"\n{side}x{side}: mean |alpha - rembg alpha| = {difference:.4f} / 255")
    assert difference < MAX_MEAN_ALPHA_DIFF
    assert np.array_equal(clean[..., 3], ours[..., 3]), "clean edges change colours, never alpha"

    # Lossless: the PNG decodes to exactly the mask the pipeline computed, and with clean edges off
    # the colours are that mask applied the way rembg's naive_cutout (Image.composite) applies it.
    image = decode_image(data, LIMITS)
    alpha = Upscaler(model.small_mask(image), image.size).full()
    assert np.array_equal(ours[..., 3], np.asarray(alpha))
    expected = Image.composite(image, Image.new("RGBA", image.size, 0), alpha)
    assert np.array_equal(ours, np.asarray(expected))
