"""The item graph of a HEIF/AVIF file, read before libheif or libavif parses it. Pure.

A HEIF/AVIF picture is an item: a coded image, or an image derived from others through `dimg`
references (a `grid` of tiles, an `iovl` overlay, an `iden` transform), which may nest. libheif
decodes every tile a grid names, also tiles wholly outside the picture, and libavif's parse time
grows with the square of the item count (README, "What images are accepted"). So `check_items`
walks `meta` first and refuses a file with more items, references or property links than
MAX_ITEMS, derivations nested deeper than MAX_DEPTH (or in a cycle), a grid with a whole row or
column of tiles past its picture, or a derived image whose inputs decode to more pixels than
TILE_PIXEL_SHARE of the pixel cap.

Hand-written: pillow-heif and Pillow expose a file's items only after libheif or libavif has
parsed them (the parse is the quadratic part), and neither exposes a grid's tiles at all.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

from function.errors import ErrorCode, ImageUndecodable, InputTooLarge
from function.imaging.heif import MAX_PROPERTIES, MAX_TOP_LEVEL_BOXES, boxes, looks_like_heif

# libheif's own default security limit: pillow-heif will not write, nor libheif read, a file
# with more items. Phones write 50-250 (up to 192 tiles, thumbnails, Exif, depth and gain maps).
MAX_ITEMS = 1000
# Levels of derivation: a grid of coded tiles is one; an identity transform over a grid, two.
MAX_DEPTH = 4
# What a derived image's inputs may decode to, as a share of the pixel cap: a picture at the cap
# in 512² tiles (phones' size) decodes up to 57 MP, its last row and column overhanging it.
TILE_PIXEL_SHARE = 1.25
# `meta` holds a dozen boxes in real files (hdlr, pitm, iloc, iinf, iref, iprp, idat, ...).
MAX_META_BOXES = 64
DERIVED = frozenset({b"grid", b"iovl", b"iden"})


def too_many(what: str, count: int | str, limit: int = MAX_ITEMS) -> InputTooLarge:
    counted = f"{count:,}" if isinstance(count, int) else count
    return InputTooLarge(f"the image has {counted} {what}; the limit is {limit:,}", code=ErrorCode.IMAGE_TOO_MANY_ITEMS)


@dataclass
class _Location:
    """Where an item's bytes are (ItemLocationBox entry): enough to read a grid's few bytes."""

    method: int  # 0: file offsets, 1: in `idat`
    base: int
    extents: list[tuple[int, int]]  # (offset, length)


@dataclass
class _Meta:
    data: bytes
    types: dict[int, bytes] = field(default_factory=dict)
    locations: dict[int, _Location] = field(default_factory=dict)
    inputs: dict[int, list[int]] = field(default_factory=dict)  # dimg: derived item -> its inputs, in order
    associations: dict[int, bytes] = field(default_factory=dict)  # item -> its property indices, 2 bytes each
    properties: list[tuple[bytes, int, int]] = field(default_factory=list)
    idat: tuple[int, int] | None = None

    def payload(self, item: int, size: int) -> bytes | None:
        """The first `size` bytes of an item's data, or None where they cannot be read."""
        location = self.locations.get(item)
        if location is None or location.method not in (0, 1):
            return None
        start = location.base
        if location.method == 1:  # offsets into `idat`
            if self.idat is None:
                return None
            start += self.idat[0]
        found = b"".join(self.data[start + offset : start + offset + length] for offset, length in location.extents)
        return found[:size] if len(found) >= size else None

    def ispe(self, item: int) -> tuple[int, int] | None:
        indices = self.associations.get(item, b"")
        for (index,) in struct.iter_unpack(">H", indices):
            if 0 < index <= len(self.properties):
                kind, start, end = self.properties[index - 1]
                if kind == b"ispe" and end - start >= 12:
                    return struct.unpack_from(">II", self.data, start + 4)
        return None


def check_items(data: bytes, max_pixels: int) -> None:
    """Refuse a HEIF/AVIF file whose items would cost more to parse or decode than a photo at the
    caps; a file this cannot read is left to libheif or libavif, which refuse it properly."""
    if not looks_like_heif(data):
        return
    try:
        meta = _read_meta(data)
    except (struct.error, IndexError):
        return
    if meta is not None:
        _check_derived(meta, max_pixels)


def _read_meta(data: bytes) -> _Meta | None:
    top = list(itertools.islice(boxes(data, 0, len(data)), MAX_TOP_LEVEL_BOXES + 1))
    found = next(((start, end) for kind, start, end in top[:MAX_TOP_LEVEL_BOXES] if kind == b"meta"), None)
    if found is None:
        if len(top) > MAX_TOP_LEVEL_BOXES:  # libheif and libavif would read on, unchecked
            raise too_many("boxes before its meta box", f"over {MAX_TOP_LEVEL_BOXES}", MAX_TOP_LEVEL_BOXES)
        return None
    meta = _Meta(data)
    parts: dict[bytes, tuple[int, int]] = {}
    for kind, start, end in itertools.islice(boxes(data, found[0] + 4, found[1]), MAX_META_BOXES):
        parts.setdefault(kind, (start, end))
    meta.idat = parts.get(b"idat")
    # Types first: iloc (often before iinf) is read only for derived images.
    for kind, read in ((b"iinf", _item_types), (b"iloc", _locations), (b"iref", _references), (b"iprp", _properties)):
        if kind in parts:
            read(meta, *parts[kind])
    return meta


def _item_types(meta: _Meta, start: int, end: int) -> None:
    data = meta.data
    version = data[start]
    (count,) = struct.unpack_from(">H" if version == 0 else ">I", data, start + 4)
    if count > MAX_ITEMS:
        raise too_many("items", count)
    for kind, payload, _ in itertools.islice(boxes(data, start + (6 if version == 0 else 8), end), count):
        infe_version = data[payload]
        if kind != b"infe" or infe_version < 2:
            continue
        id_format = ">H" if infe_version == 2 else ">I"
        (item,) = struct.unpack_from(id_format, data, payload + 4)
        at = payload + 4 + struct.calcsize(id_format) + 2  # past the protection index
        meta.types[item] = data[at : at + 4]


def _locations(meta: _Meta, start: int, end: int) -> None:
    data = meta.data
    version, sizes, more = data[start], data[start + 4], data[start + 5]
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version in (1, 2) else 0
    at = start + 6
    (count,) = struct.unpack_from(">I" if version == 2 else ">H", data, at)
    if count > MAX_ITEMS:
        raise too_many("item locations", count)
    at += 4 if version == 2 else 2
    extent_size = index_size + offset_size + length_size
    for _ in range(count):
        item = int.from_bytes(data[at : at + (4 if version == 2 else 2)], "big")
        at += 4 if version == 2 else 2
        method = 0
        if version in (1, 2):
            method = int.from_bytes(data[at : at + 2], "big") & 15
            at += 2
        at += 2  # data reference index
        base = int.from_bytes(data[at : at + base_size], "big")
        at += base_size
        (extents,) = struct.unpack_from(">H", data, at)
        at += 2
        if meta.types.get(item) in DERIVED:
            meta.locations[item] = _Location(
                method,
                base,
                [
                    (
                        int.from_bytes(data[e + index_size : e + index_size + offset_size], "big"),
                        int.from_bytes(data[e + index_size + offset_size : e + extent_size], "big"),
                    )
                    for e in range(at, at + min(extents, 16) * extent_size, extent_size)
                ],
            )
        at += extents * extent_size
        if at > end:
            return


def _references(meta: _Meta, start: int, end: int) -> None:
    data = meta.data
    id_size = 2 if data[start] == 0 else 4
    total = 0
    for kind, payload, stop in itertools.islice(boxes(data, start + 4, end), MAX_ITEMS + 1):
        (count,) = struct.unpack_from(">H", data, payload + id_size)
        total += count
        if total > MAX_ITEMS:
            raise too_many("item references", total)
        if kind == b"dimg":
            source = int.from_bytes(data[payload : payload + id_size], "big")
            first = payload + id_size + 2
            meta.inputs[source] = [
                int.from_bytes(data[at : at + id_size], "big")
                for at in range(first, min(first + count * id_size, stop), id_size)
            ]


def _properties(meta: _Meta, start: int, end: int) -> None:
    data = meta.data
    for kind, payload, stop in itertools.islice(boxes(data, start, end), MAX_META_BOXES):
        if kind == b"ipco" and not meta.properties:
            meta.properties = list(itertools.islice(boxes(data, payload, stop), MAX_PROPERTIES))
        elif kind == b"ipma":
            _associations(meta, payload, stop)


def _associations(meta: _Meta, start: int, end: int) -> None:
    data = meta.data
    version, wide = data[start], data[start + 3] & 1
    (count,) = struct.unpack_from(">I", data, start + 4)
    if count > MAX_ITEMS:
        raise too_many("items with properties", count)
    id_size, at = 2 if version == 0 else 4, start + 8
    for _ in range(count):
        item = int.from_bytes(data[at : at + id_size], "big")
        links = data[at + id_size]
        at += id_size + 1
        stored = data[at : at + links * (2 if wide else 1)]
        # Indices as 2-byte numbers, the essential bit cleared.
        indices = (
            bytes(b & 0x7F if i % 2 == 0 else b for i, b in enumerate(stored))
            if wide
            else b"".join(bytes((0, b & 0x7F)) for b in stored)
        )
        meta.associations.setdefault(item, indices)
        at += len(stored)
        if at > end:
            return


def _check_derived(meta: _Meta, max_pixels: int) -> None:
    allowed = int(max_pixels * TILE_PIXEL_SHARE)
    done: dict[int, tuple[int, int]] = {}  # derived item -> (pixels it decodes, levels of derivation under it)
    pending: set[int] = set()

    def too_deep(levels: int) -> InputTooLarge:
        return InputTooLarge(
            f"the image's derived images nest {levels} deep; the limit is {MAX_DEPTH}",
            code=ErrorCode.IMAGE_TOO_MANY_ITEMS,
        )

    def cost(item: int, depth: int) -> tuple[int, int]:
        if item in done:
            return done[item]
        if meta.types.get(item) not in DERIVED:
            size = meta.ispe(item)
            return (size[0] * size[1] if size else 0), 0
        if depth > MAX_DEPTH:  # refused on the way down: a chain of a thousand must not recurse a thousand deep
            raise too_deep(depth)
        if item in pending:
            raise ImageUndecodable("the image's derived images refer to each other in a cycle")
        pending.add(item)
        inputs = meta.inputs.get(item, [])
        if meta.types[item] == b"grid":
            _check_grid(meta, item, inputs)
        costs = [cost(source, depth + 1) for source in inputs]
        pixels, levels = sum(pixels for pixels, _ in costs), 1 + max((levels for _, levels in costs), default=0)
        if levels > MAX_DEPTH:
            raise too_deep(levels)
        if pixels > allowed:
            raise InputTooLarge(
                f"the image's tiles decode to {pixels / 1e6:,.1f} MP; the limit is {allowed / 1e6:g} MP "
                f"({TILE_PIXEL_SHARE:g}x MAX_INPUT_MEGAPIXELS, for tiles overhanging the picture)",
                code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
            )
        pending.discard(item)
        done[item] = pixels, levels
        return done[item]

    for item, kind in meta.types.items():
        if kind in DERIVED:
            cost(item, 1)


def _size(meta: _Meta, item: int) -> tuple[int, int] | None:
    """An input's size: its `ispe`, or for a grid without one, the size its grid record says."""
    return meta.ispe(item) or (_grid(meta, item) or (0, 0, None))[2]


def _grid(meta: _Meta, item: int) -> tuple[int, int, tuple[int, int]] | None:
    """(rows, columns, (output width, output height)) of a grid item, or None if unreadable."""
    head = meta.payload(item, 4)
    if head is None:
        return None
    wide = head[1] & 1
    record = meta.payload(item, 12 if wide else 8)
    if record is None:
        return None
    width, height = struct.unpack_from(">II" if wide else ">HH", record, 4)
    return head[2] + 1, head[3] + 1, (width, height)


def _check_grid(meta: _Meta, item: int, tiles: list[int]) -> None:
    grid = _grid(meta, item)
    if grid is None or not tiles:
        return
    rows, columns, (width, height) = grid
    tile = _size(meta, tiles[0])
    if tile is None or len(tiles) != rows * columns:
        return  # libheif and libavif refuse these before decoding a tile
    tile_width, tile_height = tile
    if (columns - 1) * tile_width >= width or (rows - 1) * tile_height >= height:
        raise InputTooLarge(
            f"the image is a {width}x{height} grid of {columns}x{rows} tiles of {tile_width}x{tile_height}: "
            "whole tiles lie outside the picture",
            code=ErrorCode.IMAGE_TILES_OUTSIDE_PICTURE,
        )
