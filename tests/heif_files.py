"""HEIF/AVIF files written box by box around real encoded pictures: grids, nested grids, many items.

pillow-heif writes real grids (`tile_size=512`, as phones do) but only well-formed ones; the shapes
an attacker would send (tiles outside the picture, grids of grids, thousands of hidden items) are
built here from the boxes ISO/IEC 23008-12 defines, around tiles that x265 (through pillow-heif) or
libavif (through Pillow) encoded.

    tile = coded(picture)                     # one 512x512 HEVC picture
    data = grid_file(tile, rows=8, columns=6, size=(3024, 4032))
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass

from PIL import Image

from function.imaging.heif import boxes, child, register_heif_opener


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes((version,)) + flags.to_bytes(3, "big") + payload)


def ispe(width: int, height: int) -> bytes:
    return full_box(b"ispe", 0, 0, struct.pack(">II", width, height))


@dataclass(frozen=True)
class Coded:
    """One encoded picture: its item type, its properties but `ispe` (hvcC/av1C, colr, pixi), its bytes."""

    kind: bytes
    properties: tuple[bytes, ...]
    size: tuple[int, int]
    data: bytes


def coded(picture: Image.Image, fmt: str = "HEIF", **params) -> Coded:
    """`picture` encoded by pillow-heif (HEIF) or Pillow (AVIF), taken apart: a one-item file's
    properties are all that item's, and its `mdat` holds only that item's bytes."""
    register_heif_opener()
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **params)
    data = buffer.getvalue()
    meta = child(data, b"meta", 0, len(data))
    iprp = child(data, b"iprp", meta[0] + 4, meta[1])
    ipco = child(data, b"ipco", *iprp)
    properties = tuple(data[start - 8 : end] for kind, start, end in boxes(data, *ipco) if kind != b"ispe")
    mdat = child(data, b"mdat", 0, len(data))
    return Coded(b"hvc1" if fmt == "HEIF" else b"av01", properties, picture.size, data[mdat[0] : mdat[1]])


@dataclass(frozen=True)
class Item:
    kind: bytes
    data: bytes = b""
    properties: tuple[bytes, ...] = ()
    hidden: bool = False
    inputs: tuple[int, ...] = ()  # `dimg` references: a grid's tiles, row by row


def tile_item(tile: Coded, size: tuple[int, int] | None = None) -> Item:
    """A hidden item of `tile`'s bytes; `size` is what its `ispe` declares (its own by default)."""
    return Item(tile.kind, tile.data, (*tile.properties, ispe(*(size or tile.size))), hidden=True)


def grid_item(rows: int, columns: int, size: tuple[int, int], inputs: tuple[int, ...], hidden: bool = False) -> Item:
    wide = max(size) > 0xFFFF
    record = bytes((0, int(wide), rows - 1, columns - 1)) + struct.pack(">II" if wide else ">HH", *size)
    return Item(b"grid", record, (ispe(*size),), hidden, inputs)


def heif_file(items: dict[int, Item], primary: int, brand: bytes = b"heic") -> bytes:
    """A still-image file: `ftyp`, `meta` describing `items` (ids as keys), and an `mdat` with their
    bytes (items with equal bytes share them, as a file of identical tiles may)."""
    wide = max(items) > 0xFFFF or len(items) > 0xFFFF
    id_format = ">I" if wide else ">H"
    properties: list[bytes] = []
    for item in items.values():
        properties += [p for p in item.properties if p not in properties]
    index = {p: i + 1 for i, p in enumerate(properties)}
    blobs: dict[bytes, int] = {}
    for item in items.values():
        blobs.setdefault(item.data, sum(map(len, blobs)))

    def meta(mdat_start: int) -> bytes:
        entries = b"".join(
            full_box(
                b"infe", 3 if wide else 2, int(item.hidden), struct.pack(id_format, key) + b"\0\0" + item.kind + b"\0"
            )
            for key, item in items.items()
        )
        iinf = full_box(b"iinf", int(wide), 0, struct.pack(">I" if wide else ">H", len(items)) + entries)
        locations = b"".join(
            struct.pack(id_format, key) + struct.pack(">HHHII", 0, 0, 1, mdat_start + blobs[item.data], len(item.data))
            for key, item in items.items()
        )
        iloc = full_box(b"iloc", 2 if wide else 1, 0, b"\x44\x00" + struct.pack(id_format, len(items)) + locations)
        references = b"".join(
            box(
                b"dimg",
                struct.pack(id_format, key)
                + struct.pack(">H", len(item.inputs))
                + b"".join(struct.pack(id_format, source) for source in item.inputs),
            )
            for key, item in items.items()
            if item.inputs
        )
        iref = full_box(b"iref", int(wide), 0, references) if references else b""
        associated = [(key, item) for key, item in sorted(items.items()) if item.properties]
        links = b"".join(
            struct.pack(id_format, key)
            + bytes((len(item.properties),))
            + b"".join(
                struct.pack(">H", index[p] | (0x8000 if p[4:8] in (b"hvcC", b"av1C") else 0)) for p in item.properties
            )
            for key, item in associated
        )
        ipma = full_box(b"ipma", int(wide), 1, struct.pack(">I", len(associated)) + links)
        iprp = box(b"iprp", box(b"ipco", b"".join(properties)) + ipma)
        hdlr = full_box(b"hdlr", 0, 0, b"\0\0\0\0pict" + b"\0" * 13)
        pitm = full_box(b"pitm", int(wide), 0, struct.pack(id_format, primary))
        return full_box(b"meta", 0, 0, hdlr + pitm + iloc + iinf + iref + iprp)

    compatible = [b"mif1", b"heic"] if brand == b"heic" else [b"avif", b"mif1", b"miaf"]
    ftyp = box(b"ftyp", brand + b"\0\0\0\0" + b"".join(compatible))
    start = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(start) + box(b"mdat", b"".join(blobs))


def grid_file(
    tile: Coded,
    rows: int,
    columns: int,
    size: tuple[int, int],
    tile_size: tuple[int, int] | None = None,
    brand: bytes = b"heic",
) -> bytes:
    """A picture of `size` made of rows x columns copies of `tile` (declared as `tile_size`)."""
    tiles = {2 + i: tile_item(tile, tile_size) for i in range(rows * columns)}
    return heif_file({1: grid_item(rows, columns, size, tuple(tiles)), **tiles}, primary=1, brand=brand)


def grid_of_grids(tile: Coded, outer: int, inner: tuple[int, int], size: tuple[int, int]) -> bytes:
    """An outer x outer grid of `size` whose every tile is an inner (rows, columns) grid of `tile`."""
    (width, height), (rows, columns) = tile.size, inner
    items: dict[int, Item] = {}
    tiles = {2 + i: tile_item(tile) for i in range(rows * columns)}
    inner_grids = tuple(range(1000, 1000 + outer * outer))
    for key in inner_grids:  # every inner grid names the same tiles
        items[key] = grid_item(rows, columns, (width * columns, height * rows), tuple(tiles), hidden=True)
    return heif_file({1: grid_item(outer, outer, size, inner_grids), **items, **tiles}, primary=1)


def with_hidden_items(picture: Coded, count: int, brand: bytes = b"avif") -> bytes:
    """`picture` as the primary item, followed by `count` hidden empty Exif items."""
    hidden = {2 + i: Item(b"Exif", b"\0\0\0\0", hidden=True) for i in range(count)}
    primary = Item(picture.kind, picture.data, (*picture.properties, ispe(*picture.size)))
    return heif_file({1: primary, **hidden}, primary=1, brand=brand)


@functools.lru_cache(maxsize=8)
def astronaut_tile(side: int = 512, fmt: str = "HEIF") -> Coded:
    """skimage's astronaut (a real photo, 512x512) at `side`, encoded as a phone would: quality 80."""
    from skimage.data import astronaut

    picture = Image.fromarray(astronaut())
    if side != picture.width:
        picture = picture.resize((side, side), Image.Resampling.LANCZOS)
    return coded(picture, fmt, quality=80)
