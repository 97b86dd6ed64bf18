"""Getting the uploaded image out of an HTTP request body: raw `image/*` or multipart `file`
(and, in a multipart body, a background image in `bg_file`).

Starlette parses multipart; what it does not do is cap a body whose size is unknown up
front (chunked uploads), so the body is read here with a cap and then handed to its parser.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from function.errors import ErrorCode, InputTooLarge, ServiceError, UnsupportedMediaType

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file itself


async def read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise InputTooLarge.over(cap, "the request body", int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise InputTooLarge.over(cap, "the request body")
        chunks.append(chunk)
    return b"".join(chunks)


async def _single_chunk(body: bytes) -> AsyncGenerator[bytes]:
    yield body


async def _file(form: FormData, name: str, max_bytes: int) -> bytes | None:
    upload = form.get(name)
    if upload is None:
        return None
    if not isinstance(upload, UploadFile):
        raise ServiceError(f"the multipart field {name!r} must be a file", code=ErrorCode.INVALID_MULTIPART)
    data = await upload.read()
    if len(data) > max_bytes:
        raise InputTooLarge.over(max_bytes, f"the uploaded {name}", len(data))
    return data


async def uploaded_image(request: Request, max_bytes: int) -> bytes | None:
    """The image bytes sent in the body, or None when the body is empty."""
    return (await uploaded_files(request, max_bytes))[0]


async def uploaded_files(request: Request, max_bytes: int) -> tuple[bytes | None, bytes | None]:
    """(the image, the background image) sent in the body; None for what was not sent."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        # Each file may be up to max_bytes; a Lambda request body stays far below the sum anyway.
        body = await read_capped(request, 2 * max_bytes + MULTIPART_OVERHEAD)
        parser = MultiPartParser(request.headers, _single_chunk(body), max_files=2, max_fields=20)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise ServiceError(
                f"the multipart body is malformed: {exc.message}", code=ErrorCode.INVALID_MULTIPART
            ) from exc
        if not isinstance(form.get("file"), UploadFile):
            raise ServiceError(
                "a multipart upload must carry the image in a field named 'file'", code=ErrorCode.IMAGE_MISSING
            )
        return await _file(form, "file", max_bytes), await _file(form, "bg_file", max_bytes)
    body = await read_capped(request, max_bytes)
    if not body:
        return None, None
    if content_type.startswith("image/") or content_type == "application/octet-stream":
        return body, None
    raise UnsupportedMediaType(
        f"send the image as an image/* body or multipart 'file', not {content_type or 'no content type'}"
    )
