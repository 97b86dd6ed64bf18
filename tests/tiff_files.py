"""Byte-level TIFF and EXIF builders: IFDs with any tag, type and count, tiles and strips that all
point at the same bytes (so a 16x16-tile picture at the pixel cap fits in a few MB)."""

from __future__ import annotations

import struct
import zlib

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def exif_blob(entries: list[tuple[int, int, int, bytes]], tail: bytes = b"") -> bytes:
    """A little-endian EXIF (TIFF header + IFD0) of raw entries: (tag, type, count, 4-byte value field)."""
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHI", *entry[:3]) + entry[3] for entry in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + tail


def tiff_file(
    width: int,
    height: int,
    tile: tuple[int, int] | None = None,
    strips: int = 1,
    deflate: bool = False,
    extra: list[tuple[int, int, int, bytes | None]] = (),
) -> bytes:
    """An 8-bit grey TIFF. Every strip or tile points at one shared block of pixels; `extra` adds
    (tag, type, count, value) entries, a value of None meaning `count` zero-filled items."""
    block_rows, block_width = (tile[1], tile[0]) if tile else (max(1, height // strips), width)
    block = bytes(block_rows * block_width)
    block = zlib.compress(block) if deflate else block
    pieces = (-(-width // tile[0]) * -(-height // tile[1])) if tile else strips
    data = bytearray(block)
    if pieces == 1:  # a single offset and byte count live in the entries themselves
        offsets_at, counts_at = 8, len(block)
    else:
        offsets_at, counts_at = len(data) + 8, len(data) + 8 + 4 * pieces
        data += struct.pack(f"<{pieces}I", *([8] * pieces)) + struct.pack(f"<{pieces}I", *([len(block)] * pieces))
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 8 if deflate else 1),
        (262, 3, 1, 1),
        (277, 3, 1, 1),
    ]
    if tile:
        entries += [
            (322, 4, 1, tile[0]),
            (323, 4, 1, tile[1]),
            (324, 4, pieces, offsets_at),
            (325, 4, pieces, counts_at),
        ]
    else:
        entries += [(273, 4, pieces, offsets_at), (278, 4, 1, block_rows), (279, 4, pieces, counts_at)]
    for tag, kind, count, value in extra:
        payload = value if value is not None else bytes(TYPE_SIZES[kind] * count)
        if len(payload) <= 4:
            entries.append((tag, kind, count, int.from_bytes(payload.ljust(4, b"\0"), "little")))
        else:
            entries.append((tag, kind, count, len(data) + 8))
            data += payload
    entries.sort()
    ifd_at = len(data) + 8
    ifd = (
        struct.pack("<H", len(entries))
        + b"".join(
            struct.pack("<HHII", tag, kind, count, value)
            if not (kind == 3 and count == 1)
            else struct.pack("<HHIHH", tag, kind, count, value, 0)
            for tag, kind, count, value in entries
        )
        + b"\0\0\0\0"
    )
    return b"II*\x00" + struct.pack("<I", ifd_at) + bytes(data) + ifd
