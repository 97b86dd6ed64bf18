"""The output options of POST /remove-bg, read from the query string into RemovalOptions.

A FastAPI dependency, so the route's signature stays about where the image comes from and
goes to, and OpenAPI still documents every option with its range.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Query

from function.http.docs import BGCOLOR_PATTERN
from function.imaging.pipeline import Matting, RemovalOptions, parse_bgcolor, parse_margin


def removal_options(
    format: Literal["png", "webp"] = Query("png", description="png (lossless RGBA) or webp"),
    only_mask: bool = Query(False, description="Return the grey mask instead of the cutout"),
    bgcolor: str | None = Query(
        None, description="Flatten onto this colour: RRGGBB or RRGGBBAA", json_schema_extra=BGCOLOR_PATTERN
    ),
    crop: bool = Query(False, description="Trim the result to the subject's bounding box"),
    crop_margin: str | None = Query(
        None, description="With crop: keep this much around the subject, e.g. 20px or 10% (implies crop)",
        json_schema_extra={"pattern": r"^\d{1,4}(px|%)?$"},
    ),
    scale: int | None = Query(None, ge=16, le=16383, description="Longest side of the output, in pixels (never enlarges)"),
    alpha_matting: bool = Query(False, description="Refine soft edges (hair, fur) with rembg's alpha matting; slower"),
    alpha_matting_foreground_threshold: int = Query(240, ge=0, le=255),
    alpha_matting_background_threshold: int = Query(10, ge=0, le=255),
    alpha_matting_erode_size: int = Query(10, ge=0, le=40),
    decontaminate: bool = Query(
        True, description="Clean edges: unmix the old background's colour out of the soft edge (false: rembg's colours)"
    ),
    post_process_mask: bool = Query(False, description="rembg's mask post-processing: smoothed, hard-edged mask"),
) -> RemovalOptions:
    matting = None
    if alpha_matting:
        matting = Matting(
            alpha_matting_foreground_threshold, alpha_matting_background_threshold, alpha_matting_erode_size
        )
    return RemovalOptions(
        format=format,
        only_mask=only_mask,
        bgcolor=parse_bgcolor(bgcolor) if bgcolor else None,
        crop=crop,
        crop_margin=parse_margin(crop_margin) if crop_margin else None,
        scale=scale,
        matting=matting,
        decontaminate=decontaminate,
        post_process_mask=post_process_mask,
    )
