"""A user with a photo too large for a request body (a phone's 8 MB, 24 MP JPEG) asks for an upload,
POSTs the file straight to S3 with the fields it got, and polls the job until the cutout is there."""

from __future__ import annotations

import io
import time
import urllib.request

import numpy as np
import pytest
import requests
from mangum import Mangum
from PIL import Image

from local.s3_trigger import InputPrefixPoller
from tests.integration.test_matches_rembg import decoded
from tests.support import (
    http_api_event,
    jwt_authorizer,
    lambda_context,
    large_phone_photo,
    open_image,
    response_json,
    s3_put_event,
)

MAX_MEAN_ALPHA_DIFF = 2.0  # in 0-255 units: the whole flow against rembg.remove on the same photo


def call(handler, method: str, path: str, **event_args) -> tuple[int, dict]:
    response = handler(http_api_event(method=method, path=path, **event_args), lambda_context())
    return response["statusCode"], response_json(response)


def post_to_s3(ticket: dict, data: bytes, name: str = "photo.jpg") -> requests.Response:
    """What a browser form (or `curl -F`) does with the ticket: every field, then the file."""
    return requests.post(
        ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": (name, data)}, timeout=120
    )


@pytest.fixture(scope="module")
def public(app_in_mode):
    return Mangum(app_in_mode("none"), lifespan="off")


@pytest.mark.slow  # 24 MP through u2netp and rembg.remove: the fast lane's costliest test by far
def test_an_8_mb_phone_photo_goes_up_through_s3_and_comes_back_as_rembg_would_cut_it(handlers, s3, bucket, model):
    import rembg

    photo = large_phone_photo()
    assert 7_500_000 < len(photo) < 9_500_000 and Image.open(io.BytesIO(photo)).size == (6000, 4000)
    timings = {}

    started = time.perf_counter()
    status, ticket = call(handlers.http_handler, "POST", "/uploads", query={"content_type": "image/jpeg"})
    timings["create"] = time.perf_counter() - started
    assert status == 201, ticket
    key = ticket["upload"]["fields"]["key"]
    assert key == f"input/uploads/{ticket['id']}" and ticket["job_url"].endswith(f"/jobs/{ticket['id']}")

    started = time.perf_counter()
    uploaded = post_to_s3(ticket, photo)
    timings["upload"] = time.perf_counter() - started
    assert uploaded.status_code == 204, uploaded.text
    assert call(handlers.http_handler, "GET", f"/jobs/{ticket['id']}")[1]["status"] == "pending"

    started = time.perf_counter()
    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]
    timings["processing"] = time.perf_counter() - started
    assert record["status"] == "processed", record

    started = time.perf_counter()
    status, job = call(handlers.http_handler, "GET", f"/jobs/{ticket['id']}")
    timings["poll"] = time.perf_counter() - started
    print("\n8 MB flow stages (s): " + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in timings.items()))

    assert status == 200 and job["status"] == "done" and job["error"] is None, job
    result = job["result"]
    assert (result["key"], result["format"]) == (f"output/uploads/{ticket['id']}.png", "png")
    assert (result["width"], result["height"]) == (6000, 4000)
    with urllib.request.urlopen(result["url"]) as download:
        ours = decoded(download.read())
    reference = decoded(rembg.remove(photo, session=model.session))
    difference = np.abs(ours[..., 3].astype(int) - reference[..., 3]).mean()
    print(f"mean |alpha - rembg alpha| = {difference:.4f} / 255")
    assert difference < MAX_MEAN_ALPHA_DIFF


def test_the_options_travel_with_the_upload_and_name_the_output(public, handlers, s3, bucket, photo):
    status, ticket = call(public, "POST", "/uploads", query={"format": "webp", "bgcolor": "ffffff"}, authorizer=None)
    assert status == 201, ticket
    assert post_to_s3(ticket, photo).status_code == 204

    poller = InputPrefixPoller(s3, bucket, ticket["upload"]["fields"]["key"], handlers.s3_handler)
    ((record,),) = [result["records"] for result in poller.poll_once()]  # `make run`'s emulated trigger
    status, job = call(public, "GET", f"/jobs/{ticket['id']}", authorizer=None)

    assert record["status"] == "processed"
    assert job["status"] == "done" and job["result"]["format"] == "webp", job
    with urllib.request.urlopen(job["result"]["url"]) as download:
        image = open_image(download.read())
    assert (image.format, image.mode) == ("WEBP", "RGB")


def test_a_file_over_max_input_bytes_is_refused_by_s3_itself(app_in_mode, s3, bucket):
    small = Mangum(app_in_mode("none", max_input_bytes=10_000), lifespan="off")
    status, ticket = call(small, "POST", "/uploads", authorizer=None)
    assert status == 201

    refused = post_to_s3(ticket, b"\xff" * 10_001)
    fits = post_to_s3(ticket, b"\xff" * 10_000)

    assert (refused.status_code, "<Code>EntityTooLarge</Code>" in refused.text) == (400, True), refused.text
    assert fits.status_code == 204
    assert s3.head_object(Bucket=bucket, Key=ticket["upload"]["fields"]["key"])["ContentLength"] == 10_000


def test_the_policy_pins_the_key_and_the_options(public, photo):
    status, ticket = call(public, "POST", "/uploads", query={"format": "webp"}, authorizer=None)
    fields = ticket["upload"]["fields"]

    elsewhere = requests.post(ticket["upload"]["url"], data={**fields, "key": "input/mine.jpg"}, files={"file": photo})
    other_options = requests.post(
        ticket["upload"]["url"], data={**fields, "x-amz-meta-format": "png"}, files={"file": photo}
    )

    assert status == 201 and fields["x-amz-meta-format"] == "webp"
    assert elsewhere.status_code == other_options.status_code == 403


def test_a_job_for_a_non_image_ends_failed_with_the_decode_errors_code(public, handlers, bucket):
    status, ticket = call(public, "POST", "/uploads", authorizer=None)
    assert post_to_s3(ticket, b"these are notes, not a photo", "notes.jpg").status_code == 204

    handlers.s3_handler(s3_put_event(bucket, [ticket["upload"]["fields"]["key"]]), lambda_context())
    status, job = call(public, "GET", f"/jobs/{ticket['id']}", authorizer=None)

    assert status == 200 and (job["status"], job["result"]) == ("failed", None)
    assert job["error"]["code"] == "unsupported_media_type" and job["error"]["message"]


def test_a_jwt_callers_jobs_live_in_its_folder_and_no_one_else_sees_them(app_in_mode, photo):
    handler = Mangum(app_in_mode("jwt"), lifespan="off")
    alice, bob = jwt_authorizer("alice-uploads"), jwt_authorizer("bob-uploads")
    status, ticket = call(handler, "POST", "/uploads", authorizer=alice)
    assert status == 201 and post_to_s3(ticket, photo).status_code == 204

    own = call(handler, "GET", f"/jobs/{ticket['id']}", authorizer=alice)
    foreign = call(handler, "GET", f"/jobs/{ticket['id']}", authorizer=bob)
    unknown = call(handler, "GET", "/jobs/" + "0" * 32, authorizer=alice)
    malformed = call(handler, "GET", "/jobs/..", authorizer=alice)
    escaping = call(handler, "GET", "/jobs/..%2Fbob-uploads%2Fuploads%2F" + ticket["id"], authorizer=bob)

    assert ticket["upload"]["fields"]["key"] == f"input/alice-uploads/uploads/{ticket['id']}"
    assert own[0] == 200 and own[1]["status"] == "pending"
    for answer in (foreign, unknown, malformed):
        assert (answer[0], answer[1]["error"]["code"]) == (404, "job_not_found")
    assert escaping[0] == 404  # no route: the id never reaches a key


@pytest.mark.parametrize("mode, authorizer", [("iam", None), ("jwt", None)])
def test_uploads_and_jobs_need_a_caller_where_the_api_takes_one(app_in_mode, mode, authorizer):
    handler = Mangum(app_in_mode(mode), lifespan="off")

    for method, path in (("POST", "/uploads"), ("GET", "/jobs/" + "0" * 32)):
        status, body = call(handler, method, path, authorizer=authorizer)
        assert (status, body["error"]["code"]) == (401, "authentication_required")


@pytest.mark.parametrize(
    "query, code",
    [
        ({"formt": "webp"}, "unknown_option"),
        ({"format": "gif"}, "invalid_format"),
        ({"model": "huge"}, "model_not_available"),
        ({"content_type": "image/jpeg\r\nx: y"}, "invalid_option"),
    ],
)
def test_bad_options_are_refused_before_any_upload(public, query, code):
    status, body = call(public, "POST", "/uploads", query=query, authorizer=None)

    assert status == 422 and body["error"]["code"] == code
