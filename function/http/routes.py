"""The API's routes. Each parses its request and hands the work to the app's RequestProcessor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from function import __version__
from function.bucket.metadata import METADATA_NAMES
from function.http.auth import Caller, current_caller
from function.http.delivery import Destination
from function.http.docs import IMAGE_BODY, IMAGE_RESPONSES, JobStatus, UploadTicket, error_responses
from function.http.options import known_query_only, removal_options
from function.http.processor import RequestProcessor
from function.http.source import request_sources
from function.imaging.options import RemovalOptions
from function.settings import LAMBDA_REQUEST_BYTES

router = APIRouter()


def processor(request: Request) -> RequestProcessor:
    service: RequestProcessor = request.app.state.processor
    return service


@router.get("/health")
def health(service: RequestProcessor = Depends(processor)) -> dict[str, Any]:
    """Public: also how the page learns which kind of caller the API takes (`auth`)."""
    models = service.models
    return {
        "status": "ok",
        "model": models.default_name,
        "models": list(models.available),
        "version": __version__,
        "auth": service.settings.api_auth,
        # What the page needs to choose: bodies up to max_body_bytes go to /remove-bg, larger
        # files (up to max_input_bytes) through /uploads when the API has a bucket.
        "max_body_bytes": LAMBDA_REQUEST_BYTES,
        "max_input_bytes": service.settings.max_input_bytes,
        "uploads": bool(service.settings.aws_bucket_name),
    }


# response_class=Response: the 200 is an image, so FastAPI must not document a JSON 200.
@router.post(
    "/remove-bg",
    responses=IMAGE_RESPONSES,
    openapi_extra=IMAGE_BODY,
    response_class=Response,
    dependencies=[Depends(known_query_only)],
)
async def remove_bg(
    request: Request,
    image_url: str | None = Query(None, description="URL of the image, e.g. a presigned S3 GET URL"),
    image_key: str | None = Query(
        None, description="Key of an object under the input prefix (a JWT caller: its own folder)"
    ),
    output_key: str | None = Query(
        None, description="Store the result at this key under the results prefix (a JWT caller: its own folder)"
    ),
    overwrite: bool = Query(False, description="Allow output_key to replace an existing object"),
    redirect: bool = Query(True, description="Too large for a Lambda response: 303 (true) or 201 JSON (false)"),
    model: str | None = Query(None, description="One of the models baked into the image (see /health)"),
    bg_image_url: str | None = Query(
        None, description="URL of a background image put under the cutout (the same rules as image_url)"
    ),
    bg_image_key: str | None = Query(
        None, description="Key of a background image under the input prefix (a JWT caller: its own folder)"
    ),
    options: RemovalOptions = Depends(removal_options),
    service: RequestProcessor = Depends(processor),
    caller: Caller = Depends(current_caller),
) -> Response:
    # Who may touch which keys is settled here, before the body is read or any S3 call is made.
    caller.refuse_public_bucket_access(
        image_key=image_key, bg_image_key=bg_image_key, output_key=output_key is not None, overwrite=overwrite
    )
    settings = service.settings
    input_key = caller.input_key(image_key, settings) if image_key else None
    bg_input_key = caller.input_key(bg_image_key, settings) if bg_image_key else None
    stored_at = caller.result_key(output_key, settings) if output_key is not None else None
    chosen = service.models.get(model)  # before the body is read: an unknown model is refused at once
    source, background = await request_sources(
        request, image_url, input_key, settings.max_input_bytes, bg_image_url, bg_input_key
    )
    destination = Destination(stored_at, overwrite, redirect, caller.folder)
    return await run_in_threadpool(service.process, source, chosen, options, destination, background)


@router.post(
    "/uploads",
    status_code=201,
    response_model=UploadTicket,
    responses=error_responses(),
    dependencies=[Depends(known_query_only)],
)
def create_upload(
    request: Request,
    content_type: str | None = Query(
        None,
        description="The file's media type (an image/ type); S3 then stores it with this Content-Type",
        pattern=r"^(image/[a-z0-9.+-]+|application/octet-stream)$",
    ),
    model: str | None = Query(None, description="One of the models baked into the image (see /health)"),
    bg_image_key: str | None = Query(
        None, description="Key of a background image under the input prefix (a JWT caller: its own folder)"
    ),
    options: RemovalOptions = Depends(removal_options),  # validated here, so the job cannot fail on them
    service: RequestProcessor = Depends(processor),
    caller: Caller = Depends(current_caller),
) -> dict[str, Any]:
    """For photos over what a request body can carry (~4.4 MB): a presigned POST straight to S3, and
    a job to poll. The options travel as the object's metadata, as on any S3 drop."""
    caller.refuse_public_bucket_access(bg_image_key=bg_image_key)
    service.models.get(model)  # an unknown model is refused now, not in the job
    given = {name: value for name in METADATA_NAMES if (value := request.query_params.get(name))}
    if bg_image_key:  # written as the full key inside the caller's folder: the job reads exactly that
        given["bg_image_key"] = caller.input_key(bg_image_key, service.settings)
    ticket = service.jobs.create(caller, given, content_type)
    return {**ticket, "job_url": str(request.url_for("job_status", job_id=ticket["id"]))}


@router.get("/jobs/{job_id}", response_model=JobStatus, responses=error_responses())
def job_status(
    job_id: str, service: RequestProcessor = Depends(processor), caller: Caller = Depends(current_caller)
) -> dict[str, Any]:
    """pending until the S3 function has written the output (done) or a failure report (failed)."""
    return service.jobs.status(caller, job_id)
