"""HEIC/HEIF and AVIF: the ISO-BMFF image formats phones save. Pure.

Pillow reads AVIF itself (libavif); HEIC comes through pillow-heif (libheif + libde265), whose
opener is registered on the first input that looks like one, so a cold start never imports it.
Both read the picture's size from `ispe` boxes without decoding, but libavif refuses a large
declared size as a parse error; `declared_sizes` reads those boxes first so any image over the
caps is refused as too large, the same way for both, before either library parses the file.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

# Major brands of still images and sequences in HEIF (ISO/IEC 23008-12) and AVIF.
BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1", b"avif", b"avis"}
)
# Pillow format names, as `Image.open(formats=...)` takes them; HEIF before AVIF, because
# Pillow's AVIF plugin also claims the generic mif1/msf1 brands that HEIC files may carry.
FORMATS = ("HEIF", "AVIF")
# Real files put `meta` among their first few top-level boxes and a few dozen properties in it;
# the walk stops there, so a file made of millions of tiny boxes costs no more than a photo.
MAX_TOP_LEVEL_BOXES = 16
MAX_PROPERTIES = 4096

_registered = threading.Event()
_register_lock = threading.Lock()


def looks_like_heif(data: bytes) -> bool:
    """An ISO-BMFF file whose major brand is a HEIF/AVIF image brand."""
    return data[4:8] == b"ftyp" and data[8:12] in BRANDS


def register_heif_opener() -> None:
    """pillow-heif's opener (and encoder, which the tests use to make HEIC files), once per process."""
    with _register_lock:
        if _registered.is_set():
            return
        import pillow_heif

        # Thumbnails, depth maps and auxiliary images are never used: not even listed.
        pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        _registered.set()


def formats_to_try(data: bytes, accepted: tuple[str, ...]) -> tuple[str, ...]:
    """`accepted` as Image.open may be given it for `data`: HEIF only once its opener is registered
    (Pillow raises KeyError for a format it has no opener for)."""
    if not _registered.is_set() and looks_like_heif(data):
        register_heif_opener()
    return accepted if _registered.is_set() else tuple(name for name in accepted if name != "HEIF")


def boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each ISO-BMFF box in data[start:end]; stops at the
    first box that does not fit."""
    position = start
    while position + 8 <= end:
        size, kind, header = int.from_bytes(data[position : position + 4], "big"), data[position + 4 : position + 8], 8
        if size == 1:  # 64-bit size follows the type
            size, header = int.from_bytes(data[position + 8 : position + 16], "big"), 16
        elif size == 0:  # to the end of the enclosing box
            size = end - position
        if size < header or position + size > end:
            return
        yield kind, position + header, position + size
        position += size


def child(data: bytes, kind: bytes, start: int, end: int, limit: int | None = None) -> tuple[int, int] | None:
    for found, payload, stop in itertools.islice(boxes(data, start, end), limit):
        if found == kind:
            return payload, stop
    return None


def declared_sizes(data: bytes) -> list[tuple[int, int]]:
    """Every size (width, height) the file's `ispe` properties declare: the image, its grid
    tiles, alpha planes. Empty for anything that is not a HEIF/AVIF file."""
    if not looks_like_heif(data):
        return []
    meta = child(data, b"meta", 0, len(data), MAX_TOP_LEVEL_BOXES)
    iprp = meta and child(data, b"iprp", meta[0] + 4, meta[1])  # meta is a FullBox: 4 bytes of version/flags
    ipco = iprp and child(data, b"ipco", *iprp)
    if not ipco:
        return []
    return [
        (
            int.from_bytes(data[payload + 4 : payload + 8], "big"),
            int.from_bytes(data[payload + 8 : payload + 12], "big"),
        )
        for kind, payload, end in itertools.islice(boxes(data, *ipco), MAX_PROPERTIES)
        if kind == b"ispe" and end - payload >= 12
    ]
