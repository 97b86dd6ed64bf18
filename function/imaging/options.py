"""What a caller may ask of the pipeline, and the parsing of those options from text.

Text parsing lives here, not in the HTTP layer, because query strings and S3 object metadata
carry the same options and must be validated by the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from function.errors import ErrorCode, InvalidOption

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}
HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
MARGIN = re.compile(r"^(\d{1,4})(px|%)?$")


@dataclass(frozen=True)
class Margin:
    """Space kept around the subject when cropping: pixels, or percent of the subject's size."""

    value: int
    percent: bool = False

    def pixels(self, extent: int) -> int:
        return extent * self.value // 100 if self.percent else self.value


@dataclass(frozen=True)
class Matting:
    """rembg's alpha-matting knobs (its defaults): refine soft edges such as hair."""

    foreground_threshold: int = 240
    background_threshold: int = 10
    erode_size: int = 10


@dataclass(frozen=True)
class RemovalOptions:
    format: str = "png"
    only_mask: bool = False
    bgcolor: tuple[int, int, int, int] | None = None
    crop: bool = False
    crop_margin: Margin | None = None
    scale: int | None = None  # the output's longest side at most this many pixels
    matting: Matting | None = None

    def __post_init__(self):
        if self.format not in CONTENT_TYPES:
            raise InvalidOption(f"format must be one of {', '.join(CONTENT_TYPES)}", code=ErrorCode.INVALID_FORMAT)


def parse_bgcolor(text: str) -> tuple[int, int, int, int]:
    """`RRGGBB` or `RRGGBBAA` (a leading # allowed) -> an RGBA tuple."""
    match = HEX_COLOR.match(text)
    if not match:
        raise InvalidOption("bgcolor must be RRGGBB or RRGGBBAA in hex, e.g. ffffff", code=ErrorCode.INVALID_BGCOLOR)
    digits = match.group(1) + ("" if len(match.group(1)) == 8 else "ff")
    return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def parse_margin(text: str) -> Margin:
    """`30`, `30px` or `10%` (of the subject's width/height) -> a Margin."""
    match = MARGIN.match(text)
    if not match or (match.group(2) == "%" and int(match.group(1)) > 100):
        raise InvalidOption("crop_margin must be pixels (30 or 30px) or a percentage up to 100%", code=ErrorCode.INVALID_CROP_MARGIN)
    return Margin(int(match.group(1)), percent=match.group(2) == "%")
