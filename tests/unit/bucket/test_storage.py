"""What ObjectStore makes of S3's answers, through botocore's Stubber on a real S3 client: the
request it sends is checked against the API model and the answer (or error) is S3's own shape.
Missing is ImageNotFound (or None from head), denied is StorageAccessDenied, throttling and 5xx
are StorageUnavailable, a refused conditional write is AlreadyExists."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from function.bucket.storage import ObjectInfo, ObjectStore
from function.errors import (
    AlreadyExists,
    ImageNotFound,
    InputTooLarge,
    StorageAccessDenied,
    StorageUnavailable,
)

BUCKET, KEY = "photos", "input/cat.jpg"


@pytest.fixture
def s3():
    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_head_reads_size_etag_version_and_metadata(s3):
    client, stubber = s3
    stubber.add_response(
        "head_object",
        {"ContentLength": 1234, "ETag": '"abc123"', "VersionId": "v7", "Metadata": {"format": "webp"}},
        {"Bucket": BUCKET, "Key": KEY},
    )

    info = ObjectStore(client).head(BUCKET, KEY)

    assert info == ObjectInfo(size=1234, etag="abc123", version_id="v7", metadata={"format": "webp"})


def test_head_of_a_missing_object_is_none(s3):
    client, stubber = s3
    stubber.add_client_error("head_object", "404", "Not Found", 404)

    assert ObjectStore(client).head(BUCKET, KEY) is None


def test_head_refused_is_access_denied_unless_the_role_may_not_list_there(s3):
    client, stubber = s3
    stubber.add_client_error("head_object", "403", "Forbidden", 403)
    stubber.add_client_error("head_object", "403", "Forbidden", 403)
    store = ObjectStore(client)

    with pytest.raises(StorageAccessDenied) as refused:
        store.head(BUCKET, KEY)
    assert refused.value.status == 403 and f"s3://{BUCKET}/{KEY}" in refused.value.message
    # Without s3:ListBucket on a prefix, S3 answers a missing key with 403 too.
    assert store.head(BUCKET, "output/cat.png", denied_means_missing=True) is None


def test_get_bytes_reads_the_version_it_is_given(s3):
    client, stubber = s3
    stubber.add_response(
        "get_object",
        {"ContentLength": 5, "Body": body(b"bytes")},
        {"Bucket": BUCKET, "Key": KEY, "VersionId": "v7"},
    )

    assert ObjectStore(client).get_bytes(BUCKET, KEY, 100, version_id="v7") == b"bytes"


def test_an_object_over_the_limit_is_refused_on_its_declared_length(s3):
    client, stubber = s3
    stubber.add_response("get_object", {"ContentLength": 101, "Body": body(b"x" * 101)})

    with pytest.raises(InputTooLarge) as refused:
        ObjectStore(client).get_bytes(BUCKET, KEY, 100)

    assert refused.value.status == 413 and "101" in refused.value.message


@pytest.mark.parametrize(
    "code, status, raised",
    [
        ("NoSuchKey", 404, ImageNotFound),
        ("NoSuchBucket", 404, ImageNotFound),
        ("AccessDenied", 403, StorageAccessDenied),
        ("SlowDown", 503, StorageUnavailable),
        ("InternalError", 500, StorageUnavailable),
        ("ServiceUnavailable", 503, StorageUnavailable),
        ("RequestTimeout", 400, StorageUnavailable),  # a 400 that is worth a retry
    ],
)
def test_a_failed_read_becomes_the_error_its_caller_can_act_on(s3, code, status, raised):
    client, stubber = s3
    stubber.add_client_error("get_object", code, "S3 says no", status)

    with pytest.raises(raised) as error:
        ObjectStore(client).get_bytes(BUCKET, KEY, 100)

    assert isinstance(error.value.__cause__, ClientError)
    assert (error.value.status < 500) == (raised is not StorageUnavailable)


def test_writes_are_conditional_when_asked_and_a_412_is_already_exists(s3):
    client, stubber = s3
    sent = {"Bucket": BUCKET, "Key": "output/cat.png", "Body": b"png", "ContentType": "image/png", "Metadata": {}}
    stubber.add_response("put_object", {}, {**sent, "IfNoneMatch": "*"})
    stubber.add_client_error("put_object", "PreconditionFailed", "At least one precondition failed", 412)
    stubber.add_response("put_object", {}, {**sent, "IfMatch": '"abc123"', "Metadata": {"width": "64"}})
    store = ObjectStore(client)

    store.put(BUCKET, "output/cat.png", b"png", "image/png", if_absent=True)
    with pytest.raises(AlreadyExists):
        store.put(BUCKET, "output/cat.png", b"png", "image/png", if_absent=True)
    store.put(BUCKET, "output/cat.png", b"png", "image/png", {"width": "64"}, if_match="abc123")


@pytest.mark.parametrize("code, status", [("SlowDown", 503), ("InternalError", 500), ("Throttling", 400)])
def test_a_throttled_or_failed_write_is_unavailable(s3, code, status):
    client, stubber = s3
    stubber.add_client_error("put_object", code, "S3 says later", status)

    with pytest.raises(StorageUnavailable):
        ObjectStore(client).put(BUCKET, "output/cat.png", b"png", "image/png")


def test_a_denied_write_is_raised_as_is_because_the_deployment_is_wrong(s3):
    client, stubber = s3
    stubber.add_client_error("put_object", "AccessDenied", "Access Denied", 403)

    with pytest.raises(ClientError) as error:
        ObjectStore(client).put(BUCKET, "output/cat.png", b"png", "image/png")

    assert error.value.response["Error"]["Code"] == "AccessDenied"
