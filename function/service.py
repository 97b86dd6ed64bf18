"""The one call both sides make: these bytes with these options -> a cutout, delivered and recorded.

HTTP requests and S3 records differ only in where the bytes come from and where the cutout goes;
the stages in between, the limits from settings, the tracing and the metrics are the same, so
they live here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from function.imaging.model import BackgroundModel
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import Cutout, remove_background
from function.observability import record_image, subsegment, timed_stage
from function.settings import Settings

Delivered = TypeVar("Delivered")


class CutoutService:
    def __init__(self, settings: Settings):
        self.settings = settings

    def cut_out(
        self,
        read: Callable[[], bytes],
        options: RemovalOptions,
        model: BackgroundModel,
        deliver: Callable[[Cutout, dict[str, float]], Delivered],
        read_background: Callable[[], bytes] | None = None,
    ) -> Delivered:
        """read() the image (and read_background() the background image, if any; both timed as
        `fetch`), run the pipeline, deliver(cutout, stage_ms), then count the image: only a cutout
        that was delivered is recorded as processed."""
        stage_ms: dict[str, float] = {}
        with timed_stage("fetch", stage_ms):
            data = read()
            background = read_background() if read_background else None
        cutout = remove_background(
            data,
            options,
            model,
            self.settings.decode_limits,
            trace=subsegment,
            matting_max_pixels=self.settings.alpha_matting_max_pixels,
            webp_max_pixels=self.settings.webp_max_pixels,
            background=background,
        )
        delivered = deliver(cutout, stage_ms)
        record_image(cutout, stage_ms, model.name)
        return delivered
