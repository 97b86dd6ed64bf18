"""The blocking part of a /remove-bg request: read the image, run the pipeline, deliver the result.

Runs in a worker thread (the routes are async); one instance per app, created at init.
"""

from __future__ import annotations

from fastapi.responses import Response

from function.http.delivery import Delivery, Destination
from function.http.jobs import Jobs
from function.http.source import ImageSource
from function.imaging.model import BackgroundModel, ModelRegistry
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import remove_background
from function.observability import record_image, subsegment, timed_stage
from function.s3.storage import ObjectStore
from function.settings import Settings


class RequestProcessor:
    def __init__(self, settings: Settings, models: ModelRegistry, store: ObjectStore):
        self.settings = settings
        self.models = models
        self.store = store
        self.delivery = Delivery(settings, store)
        self.jobs = Jobs(settings, store)

    def process(
        self,
        source: ImageSource,
        model: BackgroundModel,
        options: RemovalOptions,
        destination: Destination,
        background: ImageSource | None = None,
    ) -> Response:
        stage_ms: dict[str, float] = {}
        with timed_stage("fetch", stage_ms):
            data = source.read(self.settings, self.store)
            background_data = background.read(self.settings, self.store) if background else None
        cutout = remove_background(
            data,
            options,
            model,
            self.settings.decode_limits,
            trace=subsegment,
            matting_max_pixels=self.settings.alpha_matting_max_pixels,
            webp_max_pixels=self.settings.webp_max_pixels,
            background=background_data,
        )
        response = self.delivery.respond(cutout, destination, stage_ms)
        record_image(cutout, stage_ms, model.name)
        return response
