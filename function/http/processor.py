"""The blocking part of a /remove-bg request: read the image, cut it out, deliver the result.

Runs in a worker thread (the routes are async); one instance per app, created at init.
"""

from __future__ import annotations

from fastapi.responses import Response

from function.bucket.storage import ObjectStore
from function.http.delivery import Delivery, Destination
from function.http.jobs import Jobs
from function.http.source import ImageSource
from function.imaging.model import BackgroundModel, ModelRegistry
from function.imaging.options import RemovalOptions
from function.service import CutoutService
from function.settings import Settings


class RequestProcessor:
    def __init__(self, settings: Settings, models: ModelRegistry, store: ObjectStore):
        self.settings = settings
        self.models = models
        self.store = store
        self.cutouts = CutoutService(settings)
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
        return self.cutouts.cut_out(
            lambda: source.read(self.settings, self.store),
            options,
            model,
            lambda cutout, stage_ms: self.delivery.respond(cutout, destination, stage_ms),
            (lambda: background.read(self.settings, self.store)) if background else None,
        )
