"""The human-facing routes: the upload page at `/` and the OpenAPI docs at `/docs`, both offline.

FastAPI's own `/docs` and `/redoc` load their scripts from a CDN, so the app is created with them
off and this module serves swagger-ui from the files the `fastapi-offline` wheel ships. Every file is
read once, here, at app creation (Lambda init); every URL in the pages is relative, so they work at
the root of a local server and under an API Gateway stage path alike.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from function.fetch.policy import s3_hosts
from function.settings import Settings

PAGE = files(__package__) / "static" / "index.html"
SWAGGER = files("fastapi_offline") / "static"
ASSETS = {  # route under /docs/ -> (file in the fastapi-offline wheel, content type)
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": ("favicon.png", "image/png"),
}
# The page is one file with inline CSS/JS; it may talk to this API, fetch results parked in the
# bucket and POST uploads to it (result_origins), and show blob: images, nothing else.
PAGE_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self'{results}; base-uri 'none'; form-action 'none'"
)
CACHE = {"Cache-Control": "public, max-age=86400"}


def result_origins(settings: Settings) -> list[str]:
    """Where the page's requests to S3 go (presigned GETs of parked results, presigned POSTs of
    uploads): the buckets' own S3 host names (exact, never a wildcard), or the configured endpoint
    (the local S3)."""
    if settings.aws_endpoint_url_s3:
        endpoint = urlsplit(settings.aws_endpoint_url_s3)
        return [f"{endpoint.scheme}://{endpoint.netloc}"]
    buckets = {bucket for bucket in (settings.results_bucket, settings.aws_bucket_name) if bucket}
    if not (buckets and settings.aws_region):
        return []
    return sorted({f"https://{host}" for bucket in buckets for host in s3_hosts(bucket, settings.aws_region)[0]})


def add_web_routes(app: FastAPI, settings: Settings) -> None:
    if app.docs_url or app.redoc_url:
        raise ValueError("create the app with docs_url=None and redoc_url=None: their pages load from a CDN")
    if app.openapi_url is None:
        raise ValueError("the API docs page needs the app's OpenAPI schema (openapi_url)")
    page = PAGE.read_text(encoding="utf-8")
    csp = PAGE_CSP.format(results="".join(f" {origin}" for origin in result_origins(settings)))
    assets = {name: (SWAGGER.joinpath(file).read_bytes(), kind) for name, (file, kind) in ASSETS.items()}
    # Relative to /docs: the assets sit under docs/ and the schema beside it.
    docs = get_swagger_ui_html(
        openapi_url=app.openapi_url.lstrip("/"),
        title=f"{app.title} - API docs",
        swagger_js_url="docs/swagger-ui-bundle.js",
        swagger_css_url="docs/swagger-ui.css",
        swagger_favicon_url="docs/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    ).body

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": csp})

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(docs)

    for name, (body, kind) in assets.items():
        app.add_api_route(f"/docs/{name}", _serve(body, kind), methods=["GET"], include_in_schema=False)


def _serve(body: bytes, kind: str) -> Callable[[], Response]:
    def asset() -> Response:
        return Response(body, media_type=kind, headers=CACHE)

    return asset
