"""The output options of POST /remove-bg, read from the query string into RemovalOptions.

A FastAPI dependency, so the route's signature stays about where the image comes from and
goes to. Each option is declared here only so OpenAPI documents it with its type and range;
FastAPI hands the text over as it came and `options_from_text` validates it, the same parser
the S3 pipeline runs on an object's metadata, so both refuse the same values the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant

from function.errors import ErrorCode, InvalidOption
from function.http.docs import BGCOLOR_PATTERN
from function.imaging.options import (
    BG_FITS,
    ERODE_RANGE,
    FORMATS,
    OPTION_NAMES,
    POSITIONS,
    QUALITY_RANGE,
    SCALE_RANGE,
    SHADOW_BLUR_RANGE,
    SHADOW_OPACITY_RANGE,
    THRESHOLD_RANGE,
    RemovalOptions,
    options_from_text,
)


def _documented(kind: str, description: str, allowed: tuple[int, int] | None = None, **schema: object) -> Any:
    """A query option FastAPI passes through as text, documented as `kind` (its schema's type).
    Any, as FastAPI's Query() is: the marker stands as the default of a parameter typed str."""
    if allowed:
        schema.update(minimum=allowed[0], maximum=allowed[1])
    return Query(None, description=description, json_schema_extra={"type": kind, **schema})


def removal_options(
    request: Request,
    format: str = _documented(
        "string",
        "png (lossless RGBA, the default), webp, jpg (opaque: on bgcolor, white when none is given) or auto "
        "(jpg when the result is opaque: an opaque bgcolor or a background image; png otherwise)",
        enum=list(FORMATS),
    ),
    only_mask: str = _documented("boolean", "Return the grey mask instead of the cutout"),
    bgcolor: str = _documented(
        "string", "Flatten onto this colour: RRGGBB or RRGGBBAA", pattern=BGCOLOR_PATTERN["pattern"]
    ),
    crop: str = _documented("boolean", "Trim the result to the subject's bounding box"),
    crop_margin: str = _documented(
        "string",
        "With crop: keep this much around the subject, e.g. 20px or 10% (implies crop)",
        pattern=r"^(\d{1,4}(px|%)?)?$",
    ),
    scale: str = _documented("integer", "Longest side of the output, in pixels (never enlarges)", SCALE_RANGE),
    alpha_matting: str = _documented("boolean", "Refine soft edges (hair, fur) with rembg's alpha matting; slower"),
    alpha_matting_foreground_threshold: str = _documented("integer", "Default 240", THRESHOLD_RANGE),
    alpha_matting_background_threshold: str = _documented("integer", "Default 10", THRESHOLD_RANGE),
    alpha_matting_erode_size: str = _documented("integer", "Default 10", ERODE_RANGE),
    decontaminate: str = _documented(
        "boolean",
        "Clean edges (default true): unmix the old background's colour out of the soft edge; false gives rembg's colours",
    ),
    post_process_mask: str = _documented("boolean", "rembg's mask post-processing: a smoothed, hard-edged mask"),
    quality: str = _documented("integer", "jpg/webp quality (default 90)", QUALITY_RANGE),
    bg_fit: str = _documented(
        "string",
        "How the background image fills the output (default cover: filled, overflow cut evenly)",
        enum=list(BG_FITS),
    ),
    shadow: str = _documented("boolean", "A soft drop shadow cast by the subject, drawn under it"),
    shadow_opacity: str = _documented(
        "integer", "With shadow: its opacity in percent (default 50)", SHADOW_OPACITY_RANGE
    ),
    shadow_blur: str = _documented(
        "integer",
        "With shadow: its blur radius in output pixels (default 2% of the subject's longest side)",
        SHADOW_BLUR_RANGE,
    ),
    shadow_offset: str = _documented(
        "string",
        "With shadow: x,y in output pixels, + is right and down (default 1%,2% of the subject's longest side)",
        pattern=r"^(-?\d{1,5},-?\d{1,5})?$",
    ),
    canvas: str = _documented(
        "string",
        "An output of exactly WIDTHxHEIGHT, e.g. 1000x1000: the subject fitted inside (never enlarged unless upscale)",
        pattern=r"^(\d{1,5}x\d{1,5})?$",
    ),
    position: str = _documented(
        "string",
        "With canvas: center (the subject centred, the default) or original (the photo's framing)",
        enum=list(POSITIONS),
    ),
    margin: str = _documented(
        "string",
        "With canvas: space kept free at its edges, e.g. 40px or 5% (of the canvas)",
        pattern=r"^(\d{1,4}(px|%)?)?$",
    ),
    upscale: str = _documented("boolean", "With canvas: enlarge a subject smaller than the canvas to fill it"),
    roi: str = _documented(
        "string",
        "Region of interest x1,y1,x2,y2 in pixels or percentages (10%,0%,90%,100%): only the subject inside is kept",
    ),
) -> RemovalOptions:
    # The parameters above are FastAPI's copies of the same text; the parser reads the query itself.
    return options_from_text(
        {name: value for name in OPTION_NAMES if (value := request.query_params.get(name)) is not None}
    )


def _query_names(dependant: Dependant) -> set[str]:
    return {param.alias for param in dependant.query_params}.union(*map(_query_names, dependant.dependencies))


def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not declare, or give twice: a typo (`formt=webp`) must not
    pass as the default silently. The accepted names come from the route itself, so they cannot drift."""
    accepted = sorted(_query_names(request.scope["route"].dependant))
    unknown = [name for name in request.query_params if name not in accepted]
    if unknown:
        raise InvalidOption(
            f"unknown query parameter {', '.join(map(repr, dict.fromkeys(unknown)))}; accepted: {', '.join(accepted)}",
            code=ErrorCode.UNKNOWN_OPTION,
        )
    # `only_mask=false&only_mask=true`: which one wins is a framework's accident, so neither does.
    repeated = [name for name in dict.fromkeys(request.query_params) if len(request.query_params.getlist(name)) > 1]
    if repeated:
        raise InvalidOption(f"query parameter {', '.join(map(repr, repeated))} given more than once; give it once")
