"""Hypothesis strategies for malformed images: real seeds, mutated the ways files break in the wild.

Mutations: truncation, bit flips, byte insertion/deletion, header bytes overwritten, declared
dimensions rewritten (format-aware: the fields decoders size their buffers by), splices of
two formats, plus the hand-made hostile payloads and random bytes behind a real signature.
"""

from __future__ import annotations

import struct

from hypothesis import strategies as st

from tests.hostile_inputs import HOSTILE_INPUTS, seed_images

SEEDS = seed_images(48)
HOSTILE = [make()[1] for make in HOSTILE_INPUTS] + [
    seed_images(48)["png"][:12] + b"\0" * 100
]
SIGNATURES = [
    b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x01\x00\x00WEBPVP8L", b"II*\x00", b"BM",
    b"\x00\x00\x00\x18ftypheic", b"\x00\x00\x00\x1cftypavif", b"\x00\x00\x00\x1cftypmif1",
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


def hostile_images() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_seed(),
        mutated_seed(),  # weighted: most inputs start from a real image
        st.sampled_from(HOSTILE),
        st.builds(lambda sig, tail: sig + tail, st.sampled_from(SIGNATURES), st.binary(max_size=200)),
        st.sampled_from(sorted(SEEDS.values())),
    )
