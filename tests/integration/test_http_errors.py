"""What a user sees when something is wrong: a clear 4xx JSON error with a stable code, never a 500."""

from __future__ import annotations

import urllib.request

import pytest
from mangum import Mangum
from PIL import Image

from function.bucket.storage import ObjectStore
from function.http.app import create_app
from function.settings import Settings
from tests.support import (
    faulty_client,
    header,
    http_api_event,
    jpeg_bytes,
    lambda_context,
    multipart,
    open_image,
    png_bytes,
    response_body,
    response_json,
)


def invoke(handlers, **event_args) -> dict:
    return handlers.http_handler(http_api_event(**event_args), lambda_context())


def assert_error(response: dict, status: int, code: str) -> dict:
    assert response["statusCode"] == status, response_body(response)[:300]
    assert header(response, "content-type") == "application/json"
    error = response_json(response)["error"]
    assert error["code"] == code
    assert error["message"] and "Traceback" not in error["message"]
    assert error["request_id"] == header(response, "x-request-id")
    return error


def app_with(handlers, **overrides):
    """The same app and models, under different settings (limits, no bucket)."""
    settings = Settings(model_name="u2netp", **overrides)
    return Mangum(create_app(settings, handlers.models, ObjectStore()), lifespan="off")


def giant_png(width: int, height: int) -> bytes:
    """A PNG declaring many pixels in few bytes: a one-colour picture compresses to almost nothing."""
    return png_bytes(Image.new("L", (width, height)))


@pytest.mark.parametrize(
    "event_args, status, code",
    [
        ({}, 400, "image_missing"),
        ({"body": b"hello", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"body": b"not really a jpeg", "headers": {"content-type": "image/jpeg"}}, 415, "unsupported_media_type"),
        (
            {"body": b"<svg xmlns='http://www.w3.org/2000/svg'/>", "headers": {"content-type": "image/svg+xml"}},
            415,
            "unsupported_media_type",
        ),
        ({"body": jpeg_bytes()[:5000], "headers": {"content-type": "image/jpeg"}}, 400, "image_undecodable"),
        ({"body": jpeg_bytes()[:200], "headers": {"content-type": "image/jpeg"}}, 400, "image_undecodable"),
        (
            {"query": {"format": "gif"}, "body": jpeg_bytes(), "headers": {"content-type": "image/jpeg"}},
            422,
            "invalid_format",
        ),
        (
            {"query": {"bgcolor": "red"}, "body": jpeg_bytes(), "headers": {"content-type": "image/jpeg"}},
            422,
            "invalid_bgcolor",
        ),
        (
            {"query": {"crop": "maybe"}, "body": jpeg_bytes(), "headers": {"content-type": "image/jpeg"}},
            422,
            "invalid_option",
        ),
        ({"query": {"image_key": "nothing-here.jpg"}}, 400, "image_not_found"),
        ({"query": {"image_key": "../output/x.png"}}, 400, "key_not_allowed"),
        ({"query": {"image_url": "https://example.invalid/a.jpg", "image_key": "a.jpg"}}, 400, "image_ambiguous"),
        ({"body": giant_png(9000, 6000), "headers": {"content-type": "image/png"}}, 413, "image_too_many_pixels"),
        ({"method": "GET", "path": "/remove-bg"}, 405, "method_not_allowed"),
        ({"method": "GET", "path": "/nope"}, 404, "not_found"),
    ],
    ids=[
        "no-image",
        "text-body",
        "text-as-jpeg",
        "svg",
        "truncated-jpeg",
        "header-only-jpeg",
        "bad-format",
        "bad-bgcolor",
        "bad-bool",
        "missing-key",
        "key-escape",
        "two-sources",
        "too-many-pixels",
        "wrong-method",
        "unknown-route",
    ],
)
def test_bad_requests_get_a_clear_error(handlers, event_args, status, code):
    assert_error(invoke(handlers, **event_args), status, code)


def test_a_misspelt_option_is_refused_naming_it_and_the_accepted_ones(handlers):
    response = invoke(handlers, query={"formt": "webp"}, body=jpeg_bytes(), headers={"content-type": "image/jpeg"})

    error = assert_error(response, 422, "unknown_option")
    assert "'formt'" in error["message"] and "format" in error["message"] and "bgcolor" in error["message"]


def test_get_on_remove_bg_says_to_post(handlers):
    response = invoke(handlers, method="GET", path="/remove-bg")

    error = assert_error(response, 405, "method_not_allowed")
    assert "use POST" in error["message"] and header(response, "allow") == "POST"


def test_multipart_without_a_file_field(handlers):
    body, content_type = multipart("picture", "a.jpg", jpeg_bytes())

    assert_error(invoke(handlers, body=body, headers={"content-type": content_type}), 400, "image_missing")


def test_a_url_that_cannot_be_fetched_is_a_400(handlers, s3, bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "input/missing.jpg"})

    assert_error(invoke(handlers, query={"image_url": url}), 400, "image_fetch_failed")


def test_input_over_the_byte_limit_is_refused_before_decoding(handlers, photo):
    handler = app_with(handlers, max_input_bytes=len(photo) - 1)

    response = handler(http_api_event(body=photo, headers={"content-type": "image/jpeg"}), None)

    assert_error(response, 413, "input_too_large")


def test_a_result_too_large_for_lambda_is_parked_in_s3_with_a_303(handlers, lambda_env, photo):
    handler = app_with(handlers, aws_bucket_name=lambda_env["AWS_BUCKET_NAME"], max_response_bytes=10_000)

    response = handler(http_api_event(body=photo, headers={"content-type": "image/jpeg"}), None)

    assert response["statusCode"] == 303
    location = header(response, "location")
    assert location == response_json(response)["url"]
    assert response_json(response)["key"].startswith("results/")
    with urllib.request.urlopen(location) as download:
        assert open_image(download.read()).size == (512, 512)


def test_a_browser_page_can_ask_for_json_instead_of_the_303(handlers, lambda_env, photo):
    handler = app_with(handlers, aws_bucket_name=lambda_env["AWS_BUCKET_NAME"], max_response_bytes=10_000)
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"redirect": "false"})

    response = handler(event, None)

    assert response["statusCode"] == 201
    stored = response_json(response)
    assert stored["key"].startswith("results/") and header(response, "location") == stored["url"]
    with urllib.request.urlopen(stored["url"]) as download:
        assert open_image(download.read()).size == (512, 512)


def test_a_result_too_large_without_a_bucket_is_a_413_not_a_502(handlers, photo):
    handler = app_with(handlers, aws_bucket_name=None, max_response_bytes=10_000)

    response = handler(http_api_event(body=photo, headers={"content-type": "image/jpeg"}), None)

    error = assert_error(response, 413, "output_too_large")
    assert "format=webp" in error["message"]


def test_output_key_without_a_bucket_is_refused(handlers, photo):
    handler = app_with(handlers, aws_bucket_name=None)

    response = handler(
        http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"output_key": "a.png"}), None
    )

    assert_error(response, 400, "storage_not_configured")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00" * 100,
        b"\xff\xd8\xff" + b"\x00" * 50,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"GIF89a" + b"\xff" * 20,
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"II*\x00" + b"\x00" * 20,
        b"BM" + b"\xff" * 60,
    ],
)
def test_garbage_with_image_signatures_never_causes_a_500(handlers, payload):
    response = invoke(handlers, body=payload, headers={"content-type": "image/png"})

    assert 400 <= response["statusCode"] < 500, response_body(response)[:300]
    assert response_json(response)["error"]["code"]


def test_unexpected_failures_are_a_500_with_no_stack_trace(lambda_env, photo):
    class BrokenModel:
        def small_mask(self, image):
            raise RuntimeError("secret internal detail")

    class BrokenModels:
        available, default_name = ("broken",), "broken"

        def get(self, name=None):
            return BrokenModel()

    handler = Mangum(create_app(Settings(), BrokenModels(), ObjectStore()), lifespan="off")

    response = handler(http_api_event(body=photo, headers={"content-type": "image/jpeg"}), None)

    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response_body(response).decode()
    assert error["request_id"]


def test_image_key_reads_the_input_bucket_even_when_outputs_go_elsewhere(handlers, s3, bucket, photo):
    s3.put_object(Bucket=bucket, Key="input/two-buckets.jpg", Body=photo)
    handler = app_with(handlers, aws_bucket_name=bucket, output_bucket="some-other-bucket")

    response = handler(http_api_event(query={"image_key": "two-buckets.jpg"}), None)

    assert response["statusCode"] == 200
    assert open_image(response_body(response)).mode == "RGBA"


def test_an_image_key_s3_denies_is_an_access_error_not_a_missing_image(handlers, embedded_s3, s3, bucket, photo):
    s3.put_object(Bucket=bucket, Key="input/denied.jpg", Body=photo)
    store = ObjectStore(faulty_client(embedded_s3, "input/denied.jpg", status=403, code="AccessDenied"))
    handler = Mangum(create_app(handlers.settings, handlers.models, store), lifespan="off")

    denied = handler(http_api_event(query={"image_key": "denied.jpg"}), None)
    missing = handler(http_api_event(query={"image_key": "never-uploaded.jpg"}), None)  # the real path: S3's 404

    assert_error(denied, 403, "storage_access_denied")
    assert_error(missing, 400, "image_not_found")
