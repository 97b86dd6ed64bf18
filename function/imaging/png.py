"""A PNG writer that deflates horizontal bands of the image on several threads at once.

Why not Pillow: Pillow filters every row five ways and deflates the whole image on one core,
which is most of the time a big cutout costs (docs/performance.md). No library writes one PNG
from several threads, so this does:

  * Filter: every row uses PNG filter 2 ("Up": each byte minus the byte above it). The raw
    rows are all known up front, so a band's filtered rows are one numpy subtraction of the
    raw buffer and itself shifted by a row; the first row of a band subtracts the last raw
    row of the band before it, exactly as a single-threaded encoder would.
  * Deflate: each band is compressed on its own (ISA-L and zlib release the GIL, so bands really run
    in parallel) as raw deflate ending in a sync flush (a byte-aligned, non-final empty
    stored block); the last band ends with Z_FINISH (the final block). Concatenated, the bands
    are one valid deflate stream; a 2-byte zlib header goes in front and the Adler-32 of all
    filtered bytes behind it, combined from the per-band checksums (`adler32_combine`).
  * Chunks: IHDR, one IDAT per band (PNG allows any number of consecutive IDAT chunks; their
    data concatenated is the zlib stream), a last 4-byte IDAT with the Adler-32, IEND. Every
    chunk's CRC is zlib.crc32 over type + data.

Each band restarts deflate's 32 KB history, which costs a few bytes per band; bands are ~2 MB.
The output is verified by decoding with Pillow and comparing every pixel (tests/unit/imaging/test_png.py).
"""

from __future__ import annotations

import math
import struct
import zlib
from concurrent.futures import Executor
from types import ModuleType

import numpy as np

deflate_lib: ModuleType  # isal_zlib, or zlib: the same API
try:
    # ISA-L's deflate (PyPI `isal`): same zlib API and format, faster and smaller than zlib at
    # level 1 (docs/performance.md, PNG level).
    from isal import isal_zlib as deflate_lib

    DEFAULT_LEVEL = 1  # ISA-L levels are 0-3; 1 is as small as 2 and as fast as 0 here
except ImportError:  # pragma: no cover - the image installs isal; plain zlib is the fallback
    deflate_lib = zlib
    DEFAULT_LEVEL = 1
BAND_BYTES = 2 << 20  # raw bytes per band: small enough to spread over 2-6 threads
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {"L": (0, 1), "RGB": (2, 3), "RGBA": (6, 4)}  # mode -> (PNG colour type, bytes/pixel)
_FILTER_UP = 2
_ADLER_BASE = 65521
# CMF 0x78 = deflate with a 32 KB window; FLG 0x01 makes CMF*256+FLG a multiple of 31.
_ZLIB_HEADER = b"\x78\x01"


def adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """Adler-32 of A+B from adler32(A), adler32(B) and len(B) (zlib's adler32_combine).

    A = 1 + sum of bytes, B = sum of the running A's, both mod 65521; appending B's bytes
    adds (A1 - 1) to each of its len2 running sums.
    """
    a1, b1 = adler1 & 0xFFFF, adler1 >> 16
    a2, b2 = adler2 & 0xFFFF, adler2 >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (b1 + b2 + len2 * (a1 - 1)) % _ADLER_BASE
    return (b << 16) | a


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def band_spans(height: int, row_bytes: int, workers: int) -> list[tuple[int, int]]:
    """Rows [y0, y1) per band: at least one band per worker, each at most ~BAND_BYTES."""
    count = max(workers, math.ceil(height * row_bytes / BAND_BYTES))
    rows = max(1, math.ceil(height / count))
    return [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]


def encode_png(pixels: np.ndarray, mode: str, pool: Executor, workers: int, level: int = DEFAULT_LEVEL) -> bytes:
    """A (height, width[, channels]) uint8 array in mode L/RGB/RGBA -> PNG bytes, deflated in bands."""
    color_type, channels = _COLOR_TYPES[mode]
    height, width = pixels.shape[:2]
    raw = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(height, width * channels)
    spans = band_spans(height, width * channels, workers)
    last = len(spans) - 1

    def deflate_band(index: int) -> tuple[bytes, int, int]:
        y0, y1 = spans[index]
        filtered = np.empty((y1 - y0, width * channels + 1), np.uint8)
        filtered[:, 0] = _FILTER_UP
        if y0 == 0:  # the image's first row has nothing above it: Up leaves it as it is
            filtered[0, 1:] = raw[0]
            np.subtract(raw[1:y1], raw[: y1 - 1], out=filtered[1:, 1:])
        else:
            np.subtract(raw[y0:y1], raw[y0 - 1 : y1 - 1], out=filtered[:, 1:])
        data = filtered.data
        # Raw deflate (wbits -15): the zlib header and trailer are ours to write.
        compressor = deflate_lib.compressobj(level, deflate_lib.DEFLATED, -15)
        body = compressor.compress(data) + compressor.flush(
            deflate_lib.Z_FINISH if index == last else deflate_lib.Z_SYNC_FLUSH
        )
        if index == 0:
            body = _ZLIB_HEADER + body
        return _chunk(b"IDAT", body), zlib.adler32(data), filtered.nbytes

    parts = [_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))]
    adler = 1  # Adler-32 of no bytes
    for chunk, band_adler, length in pool.map(deflate_band, range(len(spans))):
        parts.append(chunk)
        adler = adler32_combine(adler, band_adler, length)
    parts += [_chunk(b"IDAT", struct.pack(">I", adler)), _chunk(b"IEND", b"")]
    return b"".join(parts)
