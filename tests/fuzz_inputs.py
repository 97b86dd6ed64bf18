"""Hypothesis strategies for malformed images: real seeds, mutated the ways files break in the wild.

Mutations: truncation, bit flips, byte insertion/deletion, header bytes overwritten, declared
dimensions rewritten (format-aware: the fields decoders size their buffers by), splices of
two formats, plus the hand-made hostile payloads and random bytes behind a real signature.
EXIF mutations: a camera-like EXIF (orientation, text, rationals, Exif and GPS directories)
with its entries' tags, types, counts and values rewritten, embedded in JPEG, PNG and WebP, and
the same entry mutations applied to a TIFF's own directory.
"""

from __future__ import annotations

import io
import struct

from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin

from tests.hostile_inputs import HOSTILE_INPUTS, seed_images
from tests.image_files import encoded, png_chunk
from tests.jpeg_files import exif_segment

SEEDS = seed_images(48)
HOSTILE = [make()[1] for make in HOSTILE_INPUTS] + [seed_images(48)["png"][:12] + b"\0" * 100]
SIGNATURES = [
    b"\xff\xd8\xff\xe0",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x01\x00\x00WEBPVP8L",
    b"II*\x00",
    b"BM",
    b"\x00\x00\x00\x18ftypheic",
    b"\x00\x00\x00\x1cftypavif",
    b"\x00\x00\x00\x1cftypmif1",
]
DIMENSIONS = st.sampled_from([0, 1, 2, 3, 255, 256, 4097, 16383, 16384, 50_000, 65535, 2**24 - 1, 2**31 - 1, 2**32 - 1])


def _dimension_fields(data: bytes) -> list[tuple[int, str]]:
    """(offset, struct format) of the width/height fields this file declares."""
    if data.startswith(b"\x89PNG"):
        return [(16, ">I"), (20, ">I")]
    if data.startswith(b"GIF"):
        fields = [(6, "<H"), (8, "<H")]
        descriptor = data.find(b"\x2c", 13)
        return fields + ([(descriptor + 5, "<H"), (descriptor + 7, "<H")] if descriptor > 0 else [])
    if data.startswith(b"BM"):
        return [(18, "<i"), (22, "<i")]
    if data.startswith(b"RIFF"):
        return [(26, "<H"), (28, "<H"), (21, "<I"), (24, "<I")]
    if data.startswith(b"\xff\xd8"):
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        return [(sof + 5, ">H"), (sof + 7, ">H")] if sof > 0 else []
    if data.startswith(b"II*"):
        return [(offset, "<I") for offset in range(8, min(len(data) - 4, 200), 12)]
    if data[4:8] == b"ftyp":  # HEIC/AVIF: the ispe property's width and height
        ispe = data.find(b"ispe")
        return [(ispe + 8, ">I"), (ispe + 12, ">I")] if ispe > 0 else []
    return []


@st.composite
def _mutation(draw, data: bytearray) -> bytearray:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "header", "dimension", "splice"]))
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:at]
    if kind == "flip" and data:
        data[at] ^= 1 << draw(st.integers(0, 7))
    elif kind == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    elif kind == "delete":
        del data[at : at + draw(st.integers(1, 64))]
    elif kind == "header" and data:
        data[min(at, 63) % len(data)] = draw(st.integers(0, 255))
    elif kind == "dimension":
        fields = [f for f in _dimension_fields(bytes(data)) if f[0] + struct.calcsize(f[1]) <= len(data)]
        if fields:
            offset, fmt = draw(st.sampled_from(fields))
            limit = 2 ** (8 * struct.calcsize(fmt) - (1 if fmt[-1].islower() else 0))
            value = draw(DIMENSIONS) % limit
            data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    elif kind == "splice":
        other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
        data = data[:at] + other[draw(st.integers(0, len(other) - 1)) :]
    return data


@st.composite
def mutated_seed(draw) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        data = draw(_mutation(data))
    return bytes(data)


def _exif_seed() -> bytes:
    """A camera-like EXIF (TIFF bytes, no "Exif" prefix) with an orientation to apply."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera"
    exif[0x011A] = TiffImagePlugin.IFDRational(72, 1)
    exif[0x0132] = "2024:01:02 03:04:05"
    exif.get_ifd(0x8769)[0x829A] = TiffImagePlugin.IFDRational(1, 125)
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0a comment"
    exif.get_ifd(0x8825)[0x0002] = (
        TiffImagePlugin.IFDRational(52, 1),
        TiffImagePlugin.IFDRational(31, 1),
        TiffImagePlugin.IFDRational(0, 1),
    )
    return exif.tobytes()[6:]


EXIF_SEED = _exif_seed()
EXIF_TAGS = [0x0112, 0x011A, 0x0128, 0x0201, 0x0202, 0x014A, 0x02BC, 0x83BB, 0x8769, 0x8825, 0xA005, 0x927C, 0x9286]
EXIF_COUNTS = st.sampled_from([0, 1, 2, 3, 255, 65535, 2**31 - 1, 2**32 - 1])


def _ifd_entries(data: bytes) -> tuple[str, list[int]]:
    """The byte order and the offsets of IFD0's 12-byte entries in a TIFF-structured blob."""
    endian = "<" if data[:2] == b"II" else ">"
    if len(data) < 10:
        return endian, []
    (ifd,) = struct.unpack_from(endian + "I", data, 4)
    if ifd + 2 > len(data):
        return endian, []
    (count,) = struct.unpack_from(endian + "H", data, ifd)
    return endian, [ifd + 2 + 12 * i for i in range(count) if ifd + 14 + 12 * i <= len(data)]


@st.composite
def _entry_mutation(draw, data: bytearray) -> bytearray:
    endian, entries = _ifd_entries(bytes(data))
    kind = draw(st.sampled_from(["tag", "type", "count", "value", "entries", "byte-order", "bytes"]))
    if kind == "bytes" or not entries:
        return draw(_mutation(data))
    at = draw(st.sampled_from(entries))
    if kind == "tag":
        struct.pack_into(endian + "H", data, at, draw(st.sampled_from(EXIF_TAGS)))
    elif kind == "type":
        struct.pack_into(endian + "H", data, at + 2, draw(st.integers(0, 20)))
    elif kind == "count":
        struct.pack_into(endian + "I", data, at + 4, draw(EXIF_COUNTS))
    elif kind == "value":
        struct.pack_into(
            endian + "I", data, at + 8, draw(st.one_of(st.integers(0, len(data) + 16), st.integers(0, 2**32 - 1)))
        )
    elif kind == "entries":
        struct.pack_into(endian + "H", data, entries[0] - 2, draw(st.sampled_from([0, 1, len(entries) + 1, 65535])))
    else:
        data[:2] = b"MM" if data[:2] == b"II" else b"II"
    return data


def _with_exif(container: str, blob: bytes) -> bytes:
    seed = SEEDS[container]
    if container == "jpeg":
        return seed[:2] + exif_segment(blob[:65000]) + seed[2:]
    if container == "png":
        return seed[:33] + png_chunk(b"eXIf", blob) + seed[33:]  # right after IHDR
    return encoded(Image.open(io.BytesIO(seed)), "WEBP", quality=80, exif=blob)


@st.composite
def exif_mutated(draw) -> bytes:
    """An image whose EXIF (or, for TIFF, whose own directory) is malformed."""
    container = draw(st.sampled_from(["jpeg", "png", "webp", "tiff"]))
    data = bytearray(SEEDS["tiff"] if container == "tiff" else EXIF_SEED)
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_entry_mutation(data))
    return bytes(data) if container == "tiff" else _with_exif(container, bytes(data))


def hostile_images() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_seed(),
        mutated_seed(),  # weighted: most inputs start from a real image
        exif_mutated(),
        st.sampled_from(HOSTILE),
        st.builds(lambda sig, tail: sig + tail, st.sampled_from(SIGNATURES), st.binary(max_size=200)),
        st.sampled_from(sorted(SEEDS.values())),
    )
