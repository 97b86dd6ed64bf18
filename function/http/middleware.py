"""Cross-cutting HTTP concerns: CORS, the request id, and turning every failure into the error envelope."""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import RequestResponseEndpoint

from function.errors import ErrorCode, InvalidOption, ServiceError, error_body
from function.http.auth import caller_id
from function.http.delivery import FOREGROUND_HEADERS
from function.observability import logger, record_failure


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", None) or "-"


def add_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Location", "X-Request-Id", *FOREGROUND_HEADERS],
        )


async def tag_request(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Give the request its id (API Gateway's, or a fresh one locally) and answer what nothing else did."""
    event = request.scope.get("aws.event") or {}
    request.state.request_id = (event.get("requestContext") or {}).get("requestId") or uuid.uuid4().hex
    # On Lambda this is the invocation's id already; locally (uvicorn) it tags this request's logs.
    logger.set_correlation_id(request.state.request_id)
    # Every log line of the request names who the gateway says is calling (a sub or an ARN, never a token).
    logger.append_keys(caller=caller_id(event))
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
    logger.remove_keys(["caller"])  # locally the S3 trigger logs through the same logger
    return response


async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
    record_failure(exc.code)
    return JSONResponse(error_body(exc.code, exc.message, request_id_of(request)), status_code=exc.status)


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
    return await service_error(request, InvalidOption(problems or "invalid request"))


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(exc.status_code, ErrorCode.BAD_REQUEST)
    message = str(exc.detail)
    if allowed := (exc.headers or {}).get("Allow"):  # a 405: say which method to use instead
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
    response = await service_error(request, ServiceError(message, code=code))
    response.headers.update(exc.headers or {})
    return response


def add_error_handling(app: FastAPI) -> None:
    app.middleware("http")(tag_request)
    # Starlette types a handler as taking any Exception; it calls each only with the class it is registered for.
    app.add_exception_handler(ServiceError, service_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
