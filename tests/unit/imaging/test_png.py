"""The banded PNG writer: Pillow must decode exactly the pixels we gave it, in every mode and band layout."""

import io
import itertools
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from function.imaging import png

POOL = ThreadPoolExecutor(3)


def decode(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


@pytest.mark.parametrize("mode,shape", [("RGBA", (37, 53, 4)), ("RGB", (64, 5, 3)), ("L", (1, 9)), ("RGBA", (1, 1, 4))])
@pytest.mark.parametrize("workers", [1, 2, 6])
def test_round_trip_is_lossless(mode, shape, workers, monkeypatch):
    monkeypatch.setattr(png, "BAND_BYTES", 500)  # many bands even for small images
    pixels = np.random.default_rng(sum(shape) + workers).integers(0, 256, shape, dtype=np.uint8)

    body = png.encode_png(pixels, mode, POOL, workers)

    image = decode(body)
    assert image.mode == mode and image.size == (shape[1], shape[0])
    assert np.array_equal(np.asarray(image), pixels)


def test_a_photo_cutout_round_trips_and_uses_several_idat_chunks():
    from skimage.data import astronaut

    rgba = np.dstack([astronaut(), np.tile(np.arange(512, dtype=np.uint8)[:, None] // 2, (1, 512))])
    body = png.encode_png(rgba, "RGBA", POOL, 4)

    assert np.array_equal(np.asarray(decode(body)), rgba)
    assert body.count(b"IDAT") >= 5  # 4 bands + the Adler-32 trailer
    # The zlib stream as a whole is standard: zlib itself inflates it and checks the Adler-32.
    assert len(zlib.decompress(idat_stream(body))) == 512 * (512 * 4 + 1)


def idat_stream(body: bytes) -> bytes:
    position, stream = 8, b""
    while position < len(body):
        (length,) = struct.unpack(">I", body[position : position + 4])
        kind = body[position + 4 : position + 8]
        data = body[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", body[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data)
        if kind == b"IDAT":
            stream += data
        position += 12 + length
    return stream


def test_adler32_combine_matches_zlib():
    rng = np.random.default_rng(1)
    for size_a, size_b in [(0, 0), (0, 10), (10, 0), (1, 70000), (123457, 65521), (300000, 5)]:
        a, b = rng.bytes(size_a), rng.bytes(size_b)
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_bands_cover_every_row_once():
    for height in (1, 2, 7, 1000, 3464):
        spans = png.band_spans(height, 4 * 3464, 2)
        assert spans[0][0] == 0 and spans[-1][1] == height
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        assert len(spans) >= min(2, height)
