"""Byte-level builders for test images Pillow will not write itself: raw PNG chunks (16-bit
RGB, headers declaring any size), bare headers of other formats, and a minimal ICC profile."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encoded(image: Image.Image, fmt: str, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes = b"", extra: bytes = b"") -> bytes:
    """A PNG with the given IHDR; `rows` is the unfiltered scanline data (filter bytes included)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + extra
        + png_chunk(b"IDAT", zlib.compress(rows, 9))
        + png_chunk(b"IEND", b"")
    )


def png_rgb16(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    row = b"\x00" + struct.pack(">HHH", *rgb) * width
    return raw_png(width, height, 16, 2, row * height)


def png_declaring(width: int, height: int) -> bytes:
    """A few dozen bytes claiming width x height greyscale pixels, with one row of data."""
    return raw_png(width, height, 8, 0, b"\x00" * (1 + min(width, 1024)))


def gif_declaring(width: int, height: int) -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def webp_declaring(width: int, height: int) -> bytes:
    """An extended (VP8X) WebP header whose canvas is width x height, followed by no frames."""
    vp8x = (
        b"VP8X"
        + struct.pack("<I", 10)
        + b"\x00\x00\x00\x00"
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def webp_animation_on_canvas(width: int, height: int) -> bytes:
    """A valid animated WebP: one real 4x4 frame on a width x height canvas (~90 bytes).

    libwebp's animation decoder allocates two canvases of width*height*4 bytes as soon as
    Pillow opens it (12000x12000 reserves 1.1 GB), before any size check Pillow can make.
    """
    frame = encoded(Image.new("RGBA", (4, 4), (255, 0, 0, 255)), "WEBP", lossless=True)[12:]  # its VP8L chunk
    vp8x = _riff_chunk(
        b"VP8X", bytes([0x12, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    anim = _riff_chunk(b"ANIM", b"\0" * 6)
    anmf = _riff_chunk(b"ANMF", b"\0" * 6 + (3).to_bytes(3, "little") * 2 + (100).to_bytes(3, "little") + b"\0" + frame)
    body = b"WEBP" + vp8x + anim + anmf
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jpeg_declaring(width: int, height: int) -> bytes:
    """SOI + a baseline SOF0 for a greyscale width x height picture, then EOI and no data."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def bmp_declaring(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40, 0, 0, 14 + 40) + info


def tiff_declaring(width: int, height: int) -> bytes:
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, width * height),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def heif_declaring(data: bytes, width: int, height: int) -> bytes:
    """A HEIC/AVIF file whose first `ispe` box (the size the picture declares) says width x height;
    the coded picture behind it is left as it was."""
    at = data.find(b"ispe")
    return data[: at + 8] + struct.pack(">II", width, height) + data[at + 16 :]


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


# sRGB's primaries adapted to D50 (the ICC connection space), from the sRGB specification.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


def rgb_icc_profile(red, green, blue, description: str = "test primaries") -> bytes:
    """A minimal ICC v2 matrix/TRC RGB profile with linear curves and the given colorants."""
    text = description.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    linear = b"curv\0\0\0\0" + struct.pack(">I", 0)
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*red)),
        (b"gXYZ", _xyz(*green)),
        (b"bXYZ", _xyz(*blue)),
        (b"rTRC", linear),
        (b"gTRC", linear),
        (b"bTRC", linear),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, payload in tags:
        payload += b"\0" * (-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0\0\0\0"
        + _xyz(0.9642, 1.0, 0.8249)[8:]
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
