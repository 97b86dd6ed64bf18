"""The S3 adapter: the only module that talks to S3.

Client errors become ServiceErrors (4xx, permanent): "not there" is ImageNotFound, "not allowed"
is StorageAccessDenied. The two differ only because the template grants each function s3:ListBucket
on the whole bucket (a prefix condition would not do: GetObject and HeadObject carry no s3:prefix):
without it S3 answers a missing key with 403 as well. Throttling, 5xx and network
failures become StorageUnavailable (503), which the HTTP path reports and the S3 path re-raises
so Lambda retries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from function.errors import AlreadyExists, ImageNotFound, InputTooLarge, StorageAccessDenied, StorageUnavailable

if TYPE_CHECKING:
    # boto3-stubs[s3], a dev-only package: never imported at run time.
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef, PutObjectRequestTypeDef

_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}
_DENIED = {"AccessDenied", "403", "Forbidden"}
_TRANSIENT = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable"}


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None
    metadata: dict[str, str]


def client_config() -> Config:
    """How every S3 client of ours signs and addresses requests, presigned URLs included.

    s3v4: S3 refuses SigV2 on buckets made since 2020, and boto3 would sign a presigned POST with it.
    Virtual-hosted in the client's region (`<bucket>.s3.<region>.amazonaws.com`, us-east-1 too):
    boto3's default presigns the legacy global host, which answers a new bucket outside us-east-1
    with a 307 a browser's preflight cannot follow, and which opt-in regions refuse. An endpoint
    override (AWS_ENDPOINT_URL_S3, a local S3) is addressed path-style, as the URL allow-list expects.
    """
    from botocore.config import Config  # imported on first use, as boto3 is

    # The variables boto3 itself reads for an endpoint override.
    overridden = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    style: Literal["path", "virtual"] = "path" if overridden else "virtual"
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
        signature_version="s3v4",
        s3={"addressing_style": style, "us_east_1_regional_endpoint": "regional"},
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class ObjectStore:
    def __init__(self, client: S3Client | None = None):
        self._client = client

    @cached_property
    def client(self) -> S3Client:
        # Imported and created on first use: an upload-only HTTP cold start never pays for boto3.
        if self._client is not None:
            return self._client
        import boto3

        return boto3.client("s3", config=client_config())

    @staticmethod
    def _translate(error: Exception, bucket: str, key: str, reading: bool = True) -> Exception:
        if isinstance(error, ClientError) and _error_code(error) not in _TRANSIENT and _status(error) < 500:
            if reading and (_error_code(error) in _MISSING or _status(error) == 404):
                return ImageNotFound(f"s3://{bucket}/{key} does not exist")
            if reading and (_error_code(error) in _DENIED or _status(error) == 403):
                return StorageAccessDenied(
                    f"S3 denied the function's role s3://{bucket}/{key} ({_error_code(error) or 403}); "
                    "check the role's policy, the bucket policy and the object's encryption key"
                )
            # Anything else S3 refuses (a denied write, a bad bucket) is our misconfiguration.
            return error
        return StorageUnavailable(f"S3 is unavailable ({type(error).__name__}); try again")

    def head(self, bucket: str, key: str, denied_means_missing: bool = False) -> ObjectInfo | None:
        """The object's size, ETag, version and metadata; None when it does not exist.

        `denied_means_missing` where a 403 can only mean "not there" for the caller: a bucket the role
        may not list (an OUTPUT_BUCKET this stack does not manage), where S3 answers a missing key
        with 403 too. In the stack's own bucket the role may list, so a missing key is a 404.
        """
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404 or (denied_means_missing and _status(error) == 403):
                return None
            raise self._translate(error, bucket, key) from error
        except BotoCoreError as error:
            raise self._translate(error, bucket, key) from error
        return ObjectInfo(
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            version_id=response.get("VersionId"),
            metadata=response.get("Metadata", {}),
        )

    def get_bytes(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> bytes:
        """The object's bytes, refusing (without reading it all) anything over `max_bytes`."""
        request: GetObjectRequestTypeDef = {"Bucket": bucket, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        try:
            response = self.client.get_object(**request)
            if response["ContentLength"] > max_bytes:
                response["Body"].close()
                raise InputTooLarge.over(max_bytes, "the object", response["ContentLength"])
            body = response["Body"].read(max_bytes + 1)
        except (ClientError, BotoCoreError) as error:
            raise self._translate(error, bucket, key) from error
        if len(body) > max_bytes:
            raise InputTooLarge.over(max_bytes, "the object")
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
        """Write an object conditionally: `if_absent` refuses to overwrite, `if_match` refuses
        unless the current object still has that ETag. Either refusal is AlreadyExists."""
        request: PutObjectRequestTypeDef = {
            "Bucket": bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": metadata or {},
        }
        if if_absent:
            request["IfNoneMatch"] = "*"
        if if_match:
            request["IfMatch"] = f'"{if_match}"'
        try:
            self.client.put_object(**request)
        except ClientError as error:
            if _status(error) == 412 or _error_code(error) == "PreconditionFailed":
                raise AlreadyExists(key) from error
            raise self._translate(error, bucket, key, reading=False) from error
        except BotoCoreError as error:
            raise self._translate(error, bucket, key, reading=False) from error

    def presign_post(
        self, bucket: str, key: str, fields: dict[str, str], max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A browser-form upload of exactly `key`, 1 to `max_bytes` bytes, with exactly these extra
        `fields` (metadata, Content-Type): S3 refuses any POST that strays from the signed policy."""
        conditions: list[object] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        return self.client.generate_presigned_post(
            bucket, key, Fields=dict(fields), Conditions=conditions, ExpiresIn=expires_in
        )

    def presign_get(self, bucket: str, key: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
