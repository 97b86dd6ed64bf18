"""The API's routes. Each parses its request and hands the work to the app's RequestProcessor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from function import __version__
from function.http.delivery import Destination
from function.http.docs import IMAGE_BODY, IMAGE_RESPONSES
from function.http.options import removal_options
from function.http.processor import RequestProcessor
from function.http.source import image_source
from function.imaging.options import RemovalOptions

router = APIRouter()


def processor(request: Request) -> RequestProcessor:
    return request.app.state.processor


@router.get("/health")
def health(service: RequestProcessor = Depends(processor)) -> dict:
    models = service.models
    return {"status": "ok", "model": models.default_name, "models": list(models.available), "version": __version__}


# response_class=Response: the 200 is an image, so FastAPI must not document a JSON 200.
@router.post("/remove-bg", responses=IMAGE_RESPONSES, openapi_extra=IMAGE_BODY, response_class=Response)
async def remove_bg(
    request: Request,
    image_url: str | None = Query(None, description="URL of the image, e.g. a presigned S3 GET URL"),
    image_key: str | None = Query(None, description="Key of an object under the input prefix"),
    output_key: str | None = Query(None, description="Store the result at this key under the output prefix"),
    overwrite: bool = Query(False, description="Allow output_key to replace an existing object"),
    redirect: bool = Query(True, description="Too large for a Lambda response: 303 (true) or 201 JSON (false)"),
    model: str | None = Query(None, description="One of the models baked into the image (see /health)"),
    options: RemovalOptions = Depends(removal_options),
    service: RequestProcessor = Depends(processor),
) -> Response:
    source = await image_source(request, image_url, image_key, service.settings.max_input_bytes)
    chosen = service.models.get(model)  # before any I/O: an unknown model is refused at once
    destination = Destination(output_key, overwrite, redirect)
    return await run_in_threadpool(service.process, source, chosen, options, destination)
