"""What /remove-bg documents in the OpenAPI schema: request body, every response and its shape.

Kept apart from the routes so routes.py stays about behaviour. A schemathesis test checks that
every real response (status, content type, JSON body) matches what is written here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from function.errors import ErrorCode, http_codes


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """The one error shape: `{"error": {"code", "message", "request_id"}}`."""

    error: ErrorDetail


class StoredResult(BaseModel):
    bucket: str
    key: str
    url: str
    width: int
    height: int
    format: str


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class UploadTicket(BaseModel):
    """POST the file to `upload.url` as multipart form data: every field of `upload.fields`, then `file`."""

    id: str
    upload: PresignedPost
    job_url: str
    expires_in: int
    limits: list[str]  # what the photo must be for the options asked: the job fails past these


class SubjectBox(BaseModel):
    """Where the subject is in the result, in pixels (as a direct call's X-Foreground-* headers)."""

    left: int
    top: int
    width: int
    height: int


class JobResult(BaseModel):
    url: str
    key: str
    width: int
    height: int
    format: str
    foreground: SubjectBox | None = None  # None for outputs made before the box was recorded


class JobError(BaseModel):
    code: str
    message: str


class JobStatus(BaseModel):
    id: str
    status: Literal["pending", "done", "failed"]
    result: JobResult | None
    error: JobError | None


# FastAPI's `responses`: status -> what OpenAPI documents for it.
Responses = dict[int | str, dict[str, Any]]


def error_responses() -> Responses:
    """One documented response per error status, listing its codes from the catalogue."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in http_codes():
        by_status.setdefault(code.status, []).append(code)
    return {
        status: {
            "model": ErrorEnvelope,
            "description": "; ".join(f"`{code}`: {code.meaning}" for code in codes),
            "content": {"application/json": {}},
        }
        for status, codes in sorted(by_status.items())
    }


IMAGE_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "bg_file": {"type": "string", "format": "binary", "description": "A background image"},
                    },
                }
            },
        },
    }
}
IMAGE_RESPONSES: Responses = {
    200: {
        "description": "The cutout",
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    201: {"model": StoredResult, "description": "Stored under output_key (`url` is presigned)"},
    303: {"model": StoredResult, "description": "Too large for a Lambda response: stored, Location is a presigned URL"},
    **error_responses(),
}
# Documented (not enforced by FastAPI) so a bad colour still gets our own `invalid_bgcolor`.
# Empty is allowed and means no colour, as the route treats it (HTML forms send empty fields).
BGCOLOR_PATTERN = {"pattern": "^(#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8}))?$"}
