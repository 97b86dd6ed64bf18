"""Byte-level JPEG builders for structures encoders never write: progressive scans by the thousand,
restart markers after every block, metadata segments inserted by the million."""

from __future__ import annotations

import functools
import struct

from PIL import Image

from tests.image_files import encoded


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def exif_segment(payload: bytes) -> bytes:
    return segment(0xE1, b"Exif\0\0" + payload)


@functools.lru_cache(maxsize=4)
def _small_jpeg(size: tuple[int, int]) -> bytes:
    return encoded(Image.new("RGB", size, (200, 60, 20)), "JPEG", quality=90)


def jpeg_with_segments(segments: bytes, size: tuple[int, int] = (64, 64)) -> bytes:
    """A valid small JPEG with `segments` (markers, fill bytes) right after its SOI."""
    picture = _small_jpeg(size)
    return picture[:2] + segments + picture[2:]


class _BitWriter:
    """Entropy-coded bits, with the 0xFF byte stuffing JPEG requires."""

    def __init__(self):
        self.out, self.bits, self.count = bytearray(), 0, 0

    def put(self, value: int, length: int) -> None:
        self.bits, self.count = (self.bits << length) | value, self.count + length
        while self.count >= 8:
            self.count -= 8
            byte = (self.bits >> self.count) & 0xFF
            self.out += b"\xff\x00" if byte == 0xFF else bytes((byte,))
        self.bits &= (1 << self.count) - 1

    def flush(self) -> bytes:
        if self.count:
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)  # pad with ones
        data, self.out = bytes(self.out), bytearray()
        return data


def _end_of_band_runs(blocks: int) -> bytes:
    """An AC scan in which every block ends at once: EOB14 runs (code "0" + 14 bits) of up to 32767."""
    bits = _BitWriter()
    while blocks > 0:
        run = max(min(blocks, 32767), 16384)
        bits.put(0, 1)
        bits.put(run - 16384, 14)
        blocks -= run
    return bits.flush()


def progressive_jpeg(width: int, height: int, refinement_scans: int = 0, restart_interval: int = 0) -> bytes:
    """A grey progressive JPEG: a DC scan, then (if refinement_scans) an AC scan and that many AC
    refinement scans, all of end-of-band runs. One-symbol Huffman tables keep each scan ~75 bytes."""
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    data = b"\xff\xd8" + segment(0xDB, b"\x00" + b"\x01" * 64)
    data += segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    data += segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC: difference 0 is "0"
    data += segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")  # AC: EOB14 is "0"
    if restart_interval:
        data += segment(0xDD, struct.pack(">H", restart_interval))
    data += segment(0xDA, b"\x01\x01\x00\x00\x00\x00")
    bits = _BitWriter()
    if restart_interval:
        chunks = []
        for index in range(blocks):
            bits.put(0, 1)
            chunks.append(bits.flush() + (bytes((0xFF, 0xD0 + index % 8)) if index < blocks - 1 else b""))
        data += b"".join(chunks)
    else:
        for _ in range(blocks):
            bits.put(0, 1)
        data += bits.flush()
    if refinement_scans:
        runs = _end_of_band_runs(blocks)
        data += segment(0xDA, b"\x01\x01\x00\x01\x3f\x00") + runs
        data += (segment(0xDA, b"\x01\x01\x00\x01\x3f\x10") + runs) * refinement_scans
    return data + b"\xff\xd9"
