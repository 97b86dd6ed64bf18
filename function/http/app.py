"""The FastAPI app: routes, error handling, CORS, the page and docs, wired once at init."""

from __future__ import annotations

from fastapi import FastAPI

from function import __version__
from function.bucket.storage import ObjectStore
from function.http.middleware import add_cors, add_error_handling
from function.http.processor import RequestProcessor
from function.http.routes import router
from function.http.web import add_web_routes
from function.imaging.model import ModelRegistry
from function.settings import Settings


def create_app(settings: Settings, models: ModelRegistry, store: ObjectStore) -> FastAPI:
    app = FastAPI(title="Background removal", version=__version__, docs_url=None, redoc_url=None)
    app.state.processor = RequestProcessor(settings, models, store)
    add_web_routes(app, settings)  # the page at / and offline /docs
    add_cors(app, settings.cors_origins)
    add_error_handling(app)
    app.include_router(router)
    return app
