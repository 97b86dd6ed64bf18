"""Stand-ins for the store and the model, so the orchestrators' rules run in milliseconds.

`MemoryStore` keeps objects in a dict behind the `ObjectStore` methods the orchestrators call,
with S3's semantics where they matter to them: every write is a new version with a new ETag,
`if_absent`/`if_match` refuse as S3's 412 does (AlreadyExists), a missing object heads as None
and reads as ImageNotFound, a read past `max_bytes` is InputTooLarge. The moto-backed
integration tests check the same rules against the real protocol.

`SquareModel` is the pipeline's model contract (`.name`, `.small_mask(image)`) answering a fixed
mask: a square in the middle, the way tests/unit/imaging does it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from function.bucket.storage import ObjectInfo
from function.errors import AlreadyExists, ErrorCode, ImageNotFound, InputTooLarge, InvalidOption
from function.settings import Settings

# The square the stand-in model sees, in its 320x320 frame: the middle half of the picture.
MASK_BOX = (80, 80, 240, 240)


@dataclass
class StoredObject:
    body: bytes
    content_type: str
    metadata: dict[str, str]
    etag: str
    version_id: str


@dataclass
class MemoryStore:
    """The bucket as the orchestrators see it. `faults[(bucket, key)]` is raised by any call that
    touches that object: for the failures S3 gives on its own terms (denied, throttled)."""

    objects: dict[tuple[str, str], list[StoredObject]] = field(default_factory=dict)
    faults: dict[tuple[str, str], Exception] = field(default_factory=dict)
    _versions: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ what a test does to the bucket

    def upload(self, bucket: str, key: str, body: bytes, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """A user's PUT: always succeeds, a new version on top of any old one."""
        self._write(bucket, key, body, "application/octet-stream", metadata or {})
        return self.head(bucket, key)

    def current(self, bucket: str, key: str) -> StoredObject | None:
        versions = self.objects.get((bucket, key))
        return versions[-1] if versions else None

    def keys(self, bucket: str) -> list[str]:
        return sorted(key for (name, key), versions in self.objects.items() if name == bucket and versions)

    # ------------------------------------------------------------------ ObjectStore's methods

    def head(self, bucket: str, key: str, denied_means_missing: bool = False) -> ObjectInfo | None:
        self._fault(bucket, key)
        obj = self.current(bucket, key)
        if obj is None:
            return None
        return ObjectInfo(size=len(obj.body), etag=obj.etag, version_id=obj.version_id, metadata=dict(obj.metadata))

    def get_bytes(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> bytes:
        self._fault(bucket, key)
        versions = self.objects.get((bucket, key), [])
        found = [obj for obj in versions if version_id in (None, obj.version_id)]
        if not found:
            raise ImageNotFound(f"s3://{bucket}/{key} does not exist")
        body = found[-1].body
        if len(body) > max_bytes:
            raise InputTooLarge.over(max_bytes, "the object", len(body))
        return body

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> None:
        self._fault(bucket, key)
        existing = self.current(bucket, key)
        if if_absent and existing is not None:
            raise AlreadyExists(key)
        if if_match and (existing is None or existing.etag != if_match):
            raise AlreadyExists(key)
        self._write(bucket, key, body, content_type, metadata or {})

    def presign_post(self, bucket: str, key: str, fields: dict[str, str], max_bytes: int, expires_in: int) -> dict:
        return {"url": f"https://{bucket}.s3.example/", "fields": {**fields, "key": key}}

    def presign_get(self, bucket: str, key: str, expires_in: int) -> str:
        return f"https://{bucket}.s3.example/{key}?expires={expires_in}"

    # ------------------------------------------------------------------

    def _fault(self, bucket: str, key: str) -> None:
        if (bucket, key) in self.faults:
            raise self.faults[(bucket, key)]

    def _write(self, bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        version = str(next(self._versions))
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()  # as S3: the same bytes, the same ETag
        stored = StoredObject(body, content_type, dict(metadata), etag, version)
        self.objects.setdefault((bucket, key), []).append(stored)


@dataclass
class SquareModel:
    """A model that always sees a square subject in the middle of the picture.

    `while_running` is called during inference: what happens elsewhere (a racing invocation)
    while the model works."""

    name: str = "u2netp"
    while_running: Callable[[], None] | None = None
    calls: int = 0

    def small_mask(self, image: Image.Image) -> Image.Image:
        self.calls += 1
        if self.while_running:
            self.while_running()
        mask = Image.new("L", (320, 320), 0)
        mask.paste(255, MASK_BOX)
        return mask


@dataclass
class StandInModels:
    """ModelRegistry's `get`: the default model, or one of the names it holds."""

    default: SquareModel = field(default_factory=SquareModel)
    others: dict[str, SquareModel] = field(default_factory=dict)

    def get(self, name: str | None = None) -> SquareModel:
        if name is None or name == self.default.name:
            return self.default
        if name not in self.others:
            raise InvalidOption(f"model {name!r} is not available", code=ErrorCode.MODEL_NOT_AVAILABLE)
        return self.others[name]


BUCKET = "photos"


def settings(**overrides) -> Settings:
    """The deployed defaults for one bucket, whatever the test process's environment says."""
    fields = {
        "aws_bucket_name": BUCKET,
        "output_bucket": None,
        "input_prefix": "input/",
        "output_prefix": "output/",
        "failed_prefix": "failed/",
        "results_prefix": "results/",
        "aws_endpoint_url_s3": None,
        "api_auth": "iam",
    }
    return Settings(**{**fields, **overrides})


def photo_bytes(size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    """A small picture: green on the left half, blue on the right, so a cutout's pixels can be checked."""
    image = Image.new("RGB", size, (0, 160, 0))
    image.paste((0, 0, 200), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def decoded(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image
