"""What /remove-bg documents in the OpenAPI schema: request body, every response and its shape.

Kept apart from the routes so api.py stays about behaviour. A schemathesis test checks that
every real response (status, content type, JSON body) matches what is written here.
"""

from __future__ import annotations

from pydantic import BaseModel


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


def _error(description: str) -> dict:
    return {"model": ErrorEnvelope, "description": description, "content": {"application/json": {}}}


IMAGE_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}
IMAGE_RESPONSES = {
    200: {
        "description": "The cutout",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/webp": {"schema": {"type": "string", "format": "binary"}}},
    },
    201: {"model": StoredResult, "description": "Stored under output_key (`url` is presigned)"},
    303: {"model": StoredResult, "description": "Too large for a Lambda response: stored, Location is a presigned URL"},
    400: _error("No, several or an unusable image source; corrupt image; key not allowed; malformed multipart"),
    409: _error("`output_exists`: output_key exists and overwrite is false"),
    413: _error("`input_too_large`, `image_too_many_pixels`, `output_too_large` or `alpha_matting_too_large`"),
    415: _error("`unsupported_media_type`: not JPEG, PNG, WebP, GIF, TIFF or BMP (judged by content)"),
    422: _error(
        "`invalid_option`, `invalid_format`, `invalid_bgcolor`, `invalid_crop_margin`, `crop_margin_too_large` "
        "or `model_not_available`"
    ),
    500: _error("`internal_error`: unexpected; quote the request id"),
    503: _error("`storage_unavailable`: S3 throttled or down; retry"),
}
# Documented (not enforced by FastAPI) so a bad colour still gets our own `invalid_bgcolor`.
# Empty is allowed and means no colour, as the route treats it (HTML forms send empty fields).
BGCOLOR_PATTERN = {"pattern": "^(#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8}))?$"}
