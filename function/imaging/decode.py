"""Decoding rules for untrusted image bytes: which formats, how big, which frame. Pure.

Order matters, and every size check runs before a pixel is decoded:
1. bytes cap, then the file's structure (structure.py: scans, markers, chunks, blocks, tags, runs)
   and the canvas a WebP's RIFF header or a HEIC/AVIF's `ispe` boxes declare (heif.py): libwebp
   and libavif allocate or refuse by that size when Pillow merely opens the file, so these checks
   run before `Image.open`; a HEIC/AVIF's items, grids and tiles (heif_items.py) likewise;
2. `Image.open` (lazy: header only), restricted to the accepted formats, judged by content;
3. pixel cap and per-side cap on the declared size;
4. decode frame 0 only, refusing truncated data; apply the EXIF orientation when it can be read;
5. colour: everything comes out sRGB in RGB or RGBA (see colour.py).

Whatever Pillow raises on these in-memory bytes is a refusal (failures.py): `image_undecodable`.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from function.errors import ErrorCode, ImageUndecodable, InputTooLarge, UnsupportedMediaType
from function.imaging import heif
from function.imaging.colour import to_rgb_or_rgba
from function.imaging.failures import refused_on_failure
from function.imaging.heif_items import check_items
from function.imaging.structure import check_structure, webp_declared_size

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
# libwebp decodes through two canvases and Pillow copies the frame out of them: ~16 bytes a pixel
# where a JPEG needs 3, and more than any later step. WebP gets this share of the pixel cap so
# that it costs no more than a JPEG at the cap (docs/performance.md, worst cases).
WEBP_PIXEL_SHARE = 0.5
# EXIF orientation -> the transpose that makes the picture upright (ImageOps.exif_transpose's table).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

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
        f"the image has too many pixels; the limit is {limits.max_pixels / 1e6:g} MP",
        code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
    )


def _corrupt_header() -> ImageUndecodable:
    return ImageUndecodable("the image header is corrupt")


def _corrupt_data() -> ImageUndecodable:
    return ImageUndecodable("the image data is corrupt or truncated")


def check_size(width: int, height: int, limits: DecodeLimits, webp: bool = False) -> None:
    if width < 1 or height < 1:
        raise ImageUndecodable("the image has no pixels")
    max_pixels = int(limits.max_pixels * WEBP_PIXEL_SHARE) if webp else limits.max_pixels
    if width * height > max_pixels:
        raise InputTooLarge(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP); "
            f"the limit is {max_pixels / 1e6:g} MP" + (" for WebP" if webp else ""),
            code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
        )
    if max(width, height) > limits.max_side:
        raise InputTooLarge(
            f"the image is {width}x{height}; each side must be at most {limits.max_side} px",
            code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
        )


def _looks_accepted(data: bytes) -> bool:
    """Starts like one of the accepted formats (so a failure to open it is corruption)."""
    return data.startswith(SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or heif.looks_like_heif(data)


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    if not data:
        raise ImageUndecodable("the image is empty (0 bytes)", code=ErrorCode.IMAGE_EMPTY)
    if len(data) > limits.max_bytes:
        raise InputTooLarge.over(limits.max_bytes, size=len(data))
    check_structure(data)
    declared = webp_declared_size(data)
    if declared is not None:
        check_size(*declared, limits, webp=True)
    for size in heif.declared_sizes(data):  # libavif refuses large sizes as a parse error: check them first
        check_size(*size, limits)
    check_items(data, limits.max_pixels)
    with refused_on_failure("opening", _corrupt_header):
        try:
            image = Image.open(io.BytesIO(data), formats=heif.formats_to_try(data, ACCEPTED_FORMATS))
        except UnidentifiedImageError as exc:
            if _looks_accepted(data):  # Pillow hides a corrupt header behind "unidentified"
                raise _corrupt_header() from exc
            raise UnsupportedMediaType(f"not an image in an accepted format ({', '.join(ACCEPTED_FORMATS)})") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(limits) from exc
    if image.format not in OPENED_AS:  # belt and braces: `formats=` above already restricts
        raise UnsupportedMediaType(f"{image.format} images are not accepted")
    check_size(*image.size, limits, webp=image.format == "WEBP")
    return image


def orientation(image: Image.Image) -> int:
    """The EXIF (or XMP) orientation, 1..8; 1 (as stored) when there is none or it cannot be read.

    Only this one tag is read (not Pillow's exif_transpose, which re-encodes every tag afterwards
    and raises on tags of the wrong type): metadata is optional, so a malformed EXIF is ignored."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except MemoryError:
        raise
    except Exception as exc:
        logger.info("ignoring an unreadable EXIF: %s: %s", type(exc).__name__, exc)
        return 1
    if not isinstance(value, int) or not 1 <= value <= 8:
        logger.info("ignoring an EXIF orientation that is not 1..8: %.40r", value)
        return 1
    return value


def _load_first_frame(image: Image.Image) -> Image.Image:
    # Image.open leaves animated GIF/WebP/APNG (and MPO/multi-page TIFF) on frame 0; load()
    # decodes only that frame. The orientation must come from the file's own EXIF (for TIFF it
    # is a tag of the file), so it is read before any mode conversion.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    image.load()
    turn = UPRIGHT.get(orientation(image))
    if turn is not None:
        return image.transpose(turn)
    # A WebP file object keeps libwebp's decoder (two canvases) and the frame's bytes: a copy of
    # the pixels lets them go for the rest of the request.
    return image.copy() if image.format == "WEBP" else image


def decode_image(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Bytes -> an upright sRGB RGB/RGBA image, or a ServiceError saying why not."""
    with warnings.catch_warnings():
        # Pillow only warns between its own cap and twice it; a warning must not slip through
        # as a silent success (our cap in check_size is the real one).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, limits)
        # Truncated files fail here too: refusing beats returning a half-grey picture.
        with refused_on_failure(f"decoding a {image.format}", _corrupt_data):
            try:
                image = _load_first_frame(image)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise _too_many_pixels(limits) from exc
    with refused_on_failure("colour conversion", _corrupt_data):
        return to_rgb_or_rgba(image)
