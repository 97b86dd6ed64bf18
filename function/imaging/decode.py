"""Decoding rules for untrusted image bytes: which formats, how big, which frame. Pure.

Order matters, and every size check runs before a pixel is decoded:
1. bytes cap, then the size declared in a WebP's RIFF header (libwebp allocates its canvas
   when Pillow merely opens the file, so that check must run before `Image.open`) or in a
   HEIC/AVIF's `ispe` boxes (heif.py);
2. `Image.open` (lazy: header only), restricted to the accepted formats, judged by content;
3. pixel cap and per-side cap on the declared size;
4. decode frame 0 only, refusing truncated data; apply EXIF orientation;
5. colour: everything comes out sRGB in RGB or RGBA (see colour.py).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from function.errors import ErrorCode, ImageUndecodable, InputTooLarge, UnsupportedMediaType
from function.imaging import heif
from function.imaging.colour import to_rgb_or_rgba

logger = logging.getLogger(__name__)

# Checked by content (Pillow's format sniffing), never by file name or Content-Type. Every
# format is attack surface (each is a C decoder), so this list is kept to what people upload.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", *heif.FORMATS)
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
# Pillow's JPEG plugin answers "MPO" for camera JPEGs carrying extra frames (depth maps,
# stereo pairs); frame 0 of an MPO is the ordinary JPEG picture.
OPENED_AS = frozenset(ACCEPTED_FORMATS) | {"MPO"}
# Longest accepted side. WebP cannot hold more than 16383 px per side, so any accepted input
# can still be answered as WebP; it also stops 1 x 50,000,000 strips that pass the pixel cap
# but make a meaningless 320x320 model input and a pathological output.
MAX_SIDE = 16383
# What Pillow raises on bad data while opening/decoding (EOFError: WebP frame decode). Only
# Pillow code runs under these handlers; anything else would be our bug and stays a 500.
# RuntimeError: pillow-heif's report of a libheif failure (e.g. a stream larger than its header said).
DECODE_ERRORS = (OSError, EOFError, SyntaxError, ValueError, RuntimeError)

# Half-decoded pictures (grey below the cut) must never pass as success. This is a process-wide
# Pillow switch; nothing in this service turns it on, and decode_image forces it off again.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class DecodeLimits:
    """Limits for one decode. `max_bytes`/`max_pixels` come from MAX_INPUT_BYTES and
    MAX_INPUT_MEGAPIXELS. Inputs are accepted up to and including each limit.

    Pillow's own bomb guard warns above ~89.5 MP and that warning is an error here, so a
    MAX_INPUT_MEGAPIXELS above 89 is effectively 89.
    """

    max_bytes: int
    max_pixels: int
    max_side: int = MAX_SIDE


def _too_many_pixels(limits: DecodeLimits) -> InputTooLarge:
    # Pillow's own bomb guard fired first (far past our cap); its message quotes its limit.
    return InputTooLarge(
        f"the image has too many pixels; the limit is {limits.max_pixels / 1e6:g} MP", code=ErrorCode.IMAGE_TOO_MANY_PIXELS
    )


def check_size(width: int, height: int, limits: DecodeLimits) -> None:
    if width < 1 or height < 1:
        raise ImageUndecodable("the image has no pixels")
    if width * height > limits.max_pixels:
        raise InputTooLarge(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP); "
            f"the limit is {limits.max_pixels / 1e6:g} MP",
            code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
        )
    if max(width, height) > limits.max_side:
        raise InputTooLarge(
            f"the image is {width}x{height}; each side must be at most {limits.max_side} px",
            code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
        )


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


def _looks_accepted(data: bytes) -> bool:
    """Starts like one of the accepted formats (so a failure to open it is corruption)."""
    return data.startswith(SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or heif.looks_like_heif(data)


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    if not data:
        raise ImageUndecodable("the image is empty (0 bytes)", code=ErrorCode.IMAGE_EMPTY)
    if len(data) > limits.max_bytes:
        raise InputTooLarge.over(limits.max_bytes, size=len(data))
    declared = webp_declared_size(data)
    if declared is not None:
        check_size(*declared, limits)
    for size in heif.declared_sizes(data):  # libavif refuses large sizes as a parse error: check them first
        check_size(*size, limits)
    try:
        image = Image.open(io.BytesIO(data), formats=heif.formats_to_try(data, ACCEPTED_FORMATS))
    except UnidentifiedImageError as exc:
        if _looks_accepted(data):  # Pillow hides a corrupt header behind "unidentified"
            raise ImageUndecodable("the image header is corrupt") from exc
        raise UnsupportedMediaType(
            f"not an image in an accepted format ({', '.join(ACCEPTED_FORMATS)})"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limits) from exc
    except DECODE_ERRORS as exc:
        raise ImageUndecodable("the image header is corrupt") from exc
    if image.format not in OPENED_AS:  # belt and braces: `formats=` above already restricts
        raise UnsupportedMediaType(f"{image.format} images are not accepted")
    check_size(*image.size, limits)
    return image


def _load_first_frame(image: Image.Image) -> Image.Image:
    # Image.open leaves animated GIF/WebP/APNG (and MPO/multi-page TIFF) on frame 0; load()
    # decodes only that frame. exif_transpose must see the file's own EXIF (for TIFF the
    # orientation is a tag of the file), so it runs before any mode conversion.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    image.load()
    return ImageOps.exif_transpose(image)


def decode_image(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Bytes -> an upright sRGB RGB/RGBA image, or a ServiceError saying why not."""
    with warnings.catch_warnings():
        # Pillow only warns between its own cap and twice it; a warning must not slip through
        # as a silent success (our cap in check_size is the real one).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, limits)
        try:
            image = _load_first_frame(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(limits) from exc
        except DECODE_ERRORS as exc:
            # Truncated files land here: refusing beats returning a half-grey picture.
            logger.info("undecodable %s: %s: %s", image.format, type(exc).__name__, exc)
            raise ImageUndecodable("the image data is corrupt or truncated") from exc
    return to_rgb_or_rgba(image)
