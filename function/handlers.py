"""Lambda entry points. They only translate events; the work lives in the modules they call.

Everything expensive (settings validation, the model session, the ASGI app) happens once,
at import, which Lambda runs during init.
"""

from __future__ import annotations

from mangum import Mangum

from .api import create_app
from .model import BackgroundModel
from .settings import Settings
from .storage import ObjectStore

settings = Settings()
model = BackgroundModel(settings.model_name, settings.u2net_home)
store = ObjectStore()
app = create_app(settings, model, store, model_name=model.name)
# lifespan="off": Mangum would otherwise run the app's startup/shutdown on every invocation.
_asgi = Mangum(app, lifespan="off")


def http_handler(event: dict, context) -> dict:
    """API Gateway HTTP API (payload v2) and REST API (v1) events -> the FastAPI app."""
    return _asgi(event, context)
