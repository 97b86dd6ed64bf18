"""Where a request's image comes from: exactly one of an upload, a URL or a key in the bucket.

Each kind is its own type with one `read` method, so the processor never juggles optional
values and a new kind of source is one new class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from function.bucket.storage import ObjectStore
from function.errors import ErrorCode, ServiceError, StorageNotConfigured
from function.http.body import uploaded_image
from function.settings import Settings


class ImageSource(Protocol):
    def read(self, settings: Settings, store: ObjectStore) -> bytes:
        """The image's bytes, at most MAX_INPUT_BYTES of them."""


@dataclass(frozen=True)
class Upload:
    data: bytes

    def read(self, settings: Settings, store: ObjectStore) -> bytes:
        return self.data


@dataclass(frozen=True)
class ImageUrl:
    url: str

    def read(self, settings: Settings, store: ObjectStore) -> bytes:
        from function.fetch.fetcher import fetch_image  # urllib3: only requests that name a URL pay for it

        return fetch_image(self.url, settings)


@dataclass(frozen=True)
class InputKey:
    key: str  # the full key, already confined to the caller's folder (Caller.input_key)

    def read(self, settings: Settings, store: ObjectStore) -> bytes:
        if not settings.aws_bucket_name:
            raise StorageNotConfigured("image_key needs a bucket (AWS_BUCKET_NAME)")
        return store.get_bytes(settings.aws_bucket_name, self.key, settings.max_input_bytes)


async def image_source(request: Request, image_url: str | None, input_key: str | None, max_bytes: int) -> ImageSource:
    """The one source the request names; none or several is a 400."""
    uploaded = await uploaded_image(request, max_bytes)
    named = {
        "image_url": image_url and ImageUrl(image_url),
        "image_key": input_key and InputKey(input_key),
        "body": uploaded is not None and Upload(uploaded),
    }
    sources = {name: source for name, source in named.items() if source}
    if len(sources) != 1:
        raise ServiceError(
            f"send exactly one image: image_url, image_key or a request body (got {', '.join(sources) or 'none'})",
            code=ErrorCode.IMAGE_AMBIGUOUS if sources else ErrorCode.IMAGE_MISSING,
        )
    return next(iter(sources.values()))
