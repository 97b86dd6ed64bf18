"""Structural limits, read from the bytes before Pillow walks them. Pure.

Pillow walks container structure in Python, one loop per element (JPEG markers and fill bytes, PNG
chunks, GIF extension sub-blocks, TIFF tags and tiles, BMP run-length codes), and libjpeg decodes
each progressive scan over the whole picture. A file inside the byte and pixel caps can hold
millions of such elements, so each costs seconds to minutes. These scanners count them with C-speed
searches and a bounded number of Python steps, and refuse files past limits that no camera, phone
or editor file comes near (docs/images.md says which files were checked).
Hand-written: no library counts these without doing the expensive walk itself.
"""

from __future__ import annotations

import re
import struct

from function.errors import ErrorCode, InputTooLarge

# Markers and stray bytes (JPEG), chunks (PNG), extensions and sub-blocks before the first frame
# (GIF), entries per IFD and numbers per tag (TIFF). Real files: tens to a few thousand.
MAX_SEGMENTS = 65_536
# Pillow joins Exif segments with bytes += bytes (quadratic) and walks every Photoshop resource in
# Python; real files carry one of each (the JPEG standard puts EXIF in a single APP1 segment).
MAX_JPEG_METADATA_SEGMENTS = 16
# libjpeg visits every block of the picture in every scan, so the allowance shrinks with size:
# scans x megapixels. Encoders write 6 (grey) to 18 (CMYK) scans.
MAX_JPEG_SCANS = 256
JPEG_SCAN_MEGAPIXELS = 1200
# Pillow decodes BMP run-length codes in Python, up to one loop per pixel.
RLE_MAX_PIXELS = 4_000_000

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)
_NO_LENGTH = frozenset([0x01, *range(0xD0, 0xD9)])  # TEM, RSTn, SOI: a marker alone
_HEADER_MARKER = re.compile(rb"\xff+([^\x00\xff])")  # before the first scan: fill bytes are Pillow loops
_SCAN_MARKER = re.compile(rb"\xff+([^\x00\xff\xd0-\xd7])")  # in scan data: stuffing and restarts skipped
# Bytes per value of the TIFF types Pillow turns into Python numbers (BYTE, ASCII, SBYTE and
# UNDEFINED stay bytes objects: cheap at any length).
_TIFF_NUMBER_SIZES = {3: 2, 4: 4, 5: 8, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_SUB_IFDS = (0x8769, 0x8825, 0xA005)  # Exif, GPS, Interop: Pillow reads them while loading a TIFF


def too_many(
    what: str, count: int | str, limit: int, code: ErrorCode = ErrorCode.IMAGE_TOO_MANY_SEGMENTS
) -> InputTooLarge:
    return InputTooLarge(f"the image has {count} {what}; the limit is {limit:,}", code=code)


def scan_allowance(megapixels: float) -> int:
    """How many scans a JPEG of this size may have."""
    return max(1, min(MAX_JPEG_SCANS, int(JPEG_SCAN_MEGAPIXELS / megapixels) if megapixels else MAX_JPEG_SCANS))


def check_structure(data: bytes) -> None:
    """Refuse a file whose structure would cost more than a photo at the caps; a file this cannot
    parse is left to Pillow, which refuses it properly."""
    try:
        if data.startswith(b"\xff\xd8"):
            _jpeg(data)
        elif data.startswith(b"\x89PNG\r\n\x1a\n"):
            _png(data)
        elif data.startswith((b"GIF87a", b"GIF89a")):
            _gif(data)
        elif data.startswith(b"BM"):
            _bmp(data)
        elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            _tiff(data)
    except (struct.error, IndexError):
        return  # truncated structure: Pillow stops at the same place


def webp_declared_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP declares in its first chunk (the field libwebp allocates by)."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit (size - 1) fields
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14-bit (size - 1) fields
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(data: bytes) -> None:
    position, segments, scans, metadata, megapixels = 2, 0, 0, 0, 0.0
    marker_pattern = _HEADER_MARKER
    while match := marker_pattern.search(data, position):
        if marker_pattern is _HEADER_MARKER:
            segments += match.end() - 2 - position  # stray and fill bytes: one Pillow loop each
        segments += 1
        if segments > MAX_SEGMENTS:
            raise too_many("markers and stray bytes before its picture data", f"over {MAX_SEGMENTS:,}", MAX_SEGMENTS)
        marker, position = match.group(1)[0], match.end()
        if marker == 0xD9:  # end of image: anything after it (MPO frames, trailers) is not decoded
            return
        if marker in _NO_LENGTH:
            continue
        (length,) = struct.unpack_from(">H", data, position)
        if marker in _SOF:
            height, width = struct.unpack_from(">HH", data, position + 3)
            megapixels = max(megapixels, width * height / 1e6)
        elif marker == 0xDA:
            scans += 1
            marker_pattern = _SCAN_MARKER
            allowed = scan_allowance(megapixels)
            if scans > allowed:
                raise too_many(
                    f"progressive scans at {megapixels:.1f} MP",
                    f"over {allowed}",
                    allowed,
                    ErrorCode.IMAGE_TOO_MANY_SCANS,
                )
        elif (marker, data[position + 2 : position + 8]) in ((0xE1, b"Exif\0\0"), (0xED, b"Photos")):
            metadata += 1
            if metadata > MAX_JPEG_METADATA_SEGMENTS:
                raise too_many(
                    "Exif or Photoshop segments", f"over {MAX_JPEG_METADATA_SEGMENTS}", MAX_JPEG_METADATA_SEGMENTS
                )
        position += length


def _png(data: bytes) -> None:
    position, chunks, pixel_data = 8, 0, False
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        chunks += 1
        if chunks > MAX_SEGMENTS:
            raise too_many("chunks", f"over {MAX_SEGMENTS:,}", MAX_SEGMENTS)
        if kind == b"IEND" or (pixel_data and kind == b"fcTL"):  # Pillow stops at the next APNG frame
            return
        pixel_data = pixel_data or kind == b"IDAT"
        position += 12 + length


def _gif(data: bytes) -> None:
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while position < len(data) and data[position] not in b",;":  # up to the first frame
        if data[position] == 0x21:  # extension: introducer, label, then sub-blocks up to a 0 length
            position += 2
            while position < len(data) and data[position] and blocks <= MAX_SEGMENTS:
                position += 1 + data[position]
                blocks += 1
        blocks += 1  # an extension's terminator, or a stray byte Pillow skips in a loop of its own
        position += 1
        if blocks > MAX_SEGMENTS:
            raise too_many(
                "extension blocks and sub-blocks before its first frame", f"over {MAX_SEGMENTS:,}", MAX_SEGMENTS
            )


def _bmp(data: bytes) -> None:
    header_size, width, height, _, _, compression = struct.unpack_from("<IiiHHI", data, 14)
    if header_size >= 40 and compression in (1, 2) and abs(width * height) > RLE_MAX_PIXELS:
        pixels = abs(width * height)
        raise InputTooLarge(
            f"the image is a run-length-encoded BMP of {pixels / 1e6:.1f} MP; the limit for RLE is "
            f"{RLE_MAX_PIXELS / 1e6:g} MP (save it uncompressed, or as PNG)",
            code=ErrorCode.IMAGE_RLE_TOO_MANY_PIXELS,
        )


def _tiff(data: bytes) -> None:
    endian = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    pointer = endian + ("Q" if big else "I")
    count_format, entry = endian + ("Q" if big else "H"), struct.Struct(endian + ("HHQ8s" if big else "HHI4s"))
    directories, seen, entries_read = [struct.unpack_from(pointer, data, 8 if big else 4)[0]], set(), 0
    while directories:  # IFD0 and the Exif, GPS and Interop directories under it, each read once
        offset = directories.pop()
        if offset in seen:
            continue
        seen.add(offset)
        (count,) = struct.unpack_from(count_format, data, offset)
        entries_read += count
        if entries_read > MAX_SEGMENTS:
            raise too_many("entries in its TIFF directories", f"over {MAX_SEGMENTS:,}", MAX_SEGMENTS)
        start = offset + struct.calcsize(count_format)
        table = data[start : start + count * entry.size]
        for tag, kind, values, value in entry.iter_unpack(table[: len(table) - len(table) % entry.size]):
            # Strips, tiles and arrays; values the file cannot hold are Pillow's to drop as corrupt.
            if values > MAX_SEGMENTS and values * _TIFF_NUMBER_SIZES.get(kind, 0) in range(1, len(data) + 1):
                raise too_many(f"values in TIFF tag {tag}", f"{values:,}", MAX_SEGMENTS)
            if tag in _TIFF_SUB_IFDS and values == 1 and len(seen) < 8:
                directories.append(struct.unpack_from(pointer, value)[0])
