"""HTTP routes: parse the request, run the pipeline, turn results and errors into responses."""

from __future__ import annotations

import uuid
from typing import Protocol

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from function import __version__
from function.http.delivery import FOREGROUND_HEADERS, Delivery, Destination
from function.errors import ErrorCode, InvalidOption, ServiceError, StorageNotConfigured, error_body
from function.imaging.decode import DecodeLimits
from function.s3.keys import input_key_for_request
from function.observability import logger, record_failure, record_image, subsegment, timed_stage
from function.http.docs import IMAGE_BODY, IMAGE_RESPONSES
from function.imaging.pipeline import MaskModel, RemovalOptions, remove_background
from function.http.options import removal_options
from function.http.body import uploaded_image
from function.settings import Settings
from function.s3.storage import ObjectStore
from function.http.web import add_web_routes

def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", None) or "-"


class Models(Protocol):
    """What the API needs of the model registry (function.imaging.model.ModelRegistry)."""

    available: tuple[str, ...]
    default_name: str

    def get(self, name: str | None = None) -> MaskModel: ...


def create_app(settings: Settings, models: Models, store: ObjectStore) -> FastAPI:
    app = FastAPI(title="Background removal", version=__version__, docs_url=None, redoc_url=None)
    add_web_routes(app)  # the page at / and offline /docs
    limits = DecodeLimits(max_bytes=settings.max_input_bytes, max_pixels=settings.max_input_pixels)
    delivery = Delivery(settings, store)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Location", "X-Request-Id", *FOREGROUND_HEADERS],
        )

    @app.middleware("http")
    async def tag_request(request: Request, call_next):
        event = request.scope.get("aws.event") or {}
        request.state.request_id = (event.get("requestContext") or {}).get("requestId") or uuid.uuid4().hex
        # On Lambda this is the invocation's id already; locally (uvicorn) it tags this request's logs.
        logger.set_correlation_id(request.state.request_id)
        try:
            response = await call_next(request)
        except Exception:
            # Answered here rather than by an Exception handler, which Starlette re-raises after
            # responding (Mangum would then log the same failure a second time).
            logger.exception("unexpected error")
            record_failure(ErrorCode.INTERNAL_ERROR)
            body = error_body(ErrorCode.INTERNAL_ERROR, "unexpected error; quote the request id", request.state.request_id)
            response = JSONResponse(body, status_code=500)
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        record_failure(exc.code)
        return JSONResponse(error_body(exc.code, exc.message, request_id_of(request)), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_option(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
        return await service_error(request, InvalidOption(problems or "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(exc.status_code, ErrorCode.BAD_REQUEST)
        return await service_error(request, ServiceError(str(exc.detail), code=code))

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": models.default_name, "models": list(models.available), "version": __version__}

    # response_class=Response: the 200 is an image, so FastAPI must not document a JSON 200.
    @app.post("/remove-bg", responses=IMAGE_RESPONSES, openapi_extra=IMAGE_BODY, response_class=Response)
    async def remove_bg(
        request: Request,
        image_url: str | None = Query(None, description="URL of the image, e.g. a presigned S3 GET URL"),
        image_key: str | None = Query(None, description="Key of an object under the input prefix"),
        output_key: str | None = Query(None, description="Store the result at this key under the output prefix"),
        overwrite: bool = Query(False, description="Allow output_key to replace an existing object"),
        redirect: bool = Query(True, description="Too large for a Lambda response: 303 (true) or 201 JSON (false)"),
        model: str | None = Query(None, description="One of the models baked into the image (see /health)"),
        options: RemovalOptions = Depends(removal_options),
    ) -> Response:
        uploaded = await uploaded_image(request, settings.max_input_bytes)
        sources = [name for name, value in (("image_url", image_url), ("image_key", image_key)) if value]
        if uploaded is not None:
            sources.append("body")
        if len(sources) != 1:
            found = ", ".join(sources) or "none"
            raise ServiceError(
                f"send exactly one image: image_url, image_key or a request body (got {found})",
                code=ErrorCode.IMAGE_AMBIGUOUS if sources else ErrorCode.IMAGE_MISSING,
            )
        chosen = models.get(model)  # before fetching: an unknown model is refused without any I/O
        destination = Destination(output_key, overwrite, redirect)
        return await run_in_threadpool(process, image_url, image_key, uploaded, chosen, options, destination)

    def process(image_url, image_key, uploaded, chosen, options, destination) -> Response:
        """The blocking part of a request, in a worker thread: fetch, pipeline, deliver."""
        stage_ms: dict[str, float] = {}
        data = uploaded
        if data is None:
            with timed_stage("fetch", stage_ms):
                if image_url:
                    from function.fetch.fetcher import fetch_image  # urllib3: imported by the first URL request

                    data = fetch_image(image_url, settings)
                else:
                    if not settings.aws_bucket_name:
                        raise StorageNotConfigured("image_key needs a bucket (AWS_BUCKET_NAME)")
                    key = input_key_for_request(image_key, settings.input_prefix)
                    data = store.get_bytes(settings.aws_bucket_name, key, settings.max_input_bytes)
        cutout = remove_background(
            data, options, chosen, limits, trace=subsegment, matting_max_pixels=settings.alpha_matting_max_pixels
        )
        response = delivery.respond(cutout, destination, stage_ms)
        record_image(cutout, stage_ms, chosen.name)
        return response

    return app
