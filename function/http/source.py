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
from function.http.body import uploaded_files
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
    return (await request_sources(request, image_url, input_key, max_bytes))[0]


async def request_sources(
    request: Request,
    image_url: str | None,
    input_key: str | None,
    max_bytes: int,
    bg_image_url: str | None = None,
    bg_input_key: str | None = None,
) -> tuple[ImageSource, ImageSource | None]:
    """The image the request names (exactly one: none or several is a 400) and its background
    image (at most one of bg_image_url, bg_image_key and a multipart `bg_file`)."""
    uploaded, uploaded_background = await uploaded_files(request, max_bytes)
    image = _one_of(
        {
            "image_url": ImageUrl(image_url) if image_url else None,
            "image_key": InputKey(input_key) if input_key else None,
            "body": Upload(uploaded) if uploaded is not None else None,
        },
        "image",
    )
    if image is None:  # _one_of refuses that already; this tells the type checker
        raise ServiceError("send an image", code=ErrorCode.IMAGE_MISSING)
    background = _one_of(
        {
            "bg_image_url": ImageUrl(bg_image_url) if bg_image_url else None,
            "bg_image_key": InputKey(bg_input_key) if bg_input_key else None,
            "bg_file": Upload(uploaded_background) if uploaded_background is not None else None,
        },
        "background image",
        required=False,
    )
    return image, background


def _one_of(named: dict[str, ImageSource | None], what: str, required: bool = True) -> ImageSource | None:
    sources = {name: source for name, source in named.items() if source is not None}
    if len(sources) > 1 or (required and not sources):
        names = ", ".join(named).replace("body", "a request body")
        raise ServiceError(
            f"send exactly one {what}: {names} (got {', '.join(sources) or 'none'})"
            if required
            else f"send at most one {what}: {names} (got {', '.join(sources)})",
            code=ErrorCode.IMAGE_AMBIGUOUS if sources else ErrorCode.IMAGE_MISSING,
        )
    return next(iter(sources.values()), None)
