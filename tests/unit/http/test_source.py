"""A request names exactly one image: an upload, a URL or a key."""

import asyncio

import pytest
from starlette.requests import Request

from function.errors import ErrorCode, ServiceError
from function.http.source import ImageUrl, InputKey, Upload, image_source


def request_with(body: bytes = b"", content_type: str = "image/jpeg") -> Request:
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    return Request({"type": "http", "method": "POST", "headers": headers, "query_string": b""}, receive)


def source_of(request: Request, image_url=None, image_key=None):
    return asyncio.run(image_source(request, image_url, image_key, max_bytes=1000))


def test_each_kind_of_source_is_its_own_type():
    assert source_of(request_with(b"\xff\xd8\xff")) == Upload(b"\xff\xd8\xff")
    assert source_of(request_with(), image_url="https://b.s3.amazonaws.com/k") == ImageUrl(
        "https://b.s3.amazonaws.com/k"
    )
    assert source_of(request_with(), image_key="photo.jpg") == InputKey("photo.jpg")


def test_none_or_several_sources_are_refused_with_a_code_that_says_which():
    with pytest.raises(ServiceError) as missing:
        source_of(request_with())
    with pytest.raises(ServiceError) as ambiguous:
        source_of(request_with(b"\xff\xd8\xff"), image_key="photo.jpg")

    assert missing.value.code is ErrorCode.IMAGE_MISSING
    assert ambiguous.value.code is ErrorCode.IMAGE_AMBIGUOUS and "image_key, body" in ambiguous.value.message
