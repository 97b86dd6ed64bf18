"""A user removes backgrounds through API Gateway (HTTP API, payload v2) -> http_handler."""

from __future__ import annotations

import urllib.request
import uuid

import numpy as np
import pytest

from tests.support import (
    assert_astronaut_cutout,
    header,
    http_api_event,
    lambda_context,
    multipart,
    open_image,
    phone_photo,
    response_body,
    response_json,
)


def near(pixel, expected, tolerance=4) -> bool:
    """Background pixels keep a trace of the photo where the mask is not exactly 0."""
    return bool(np.all(np.abs(pixel.astype(int) - np.array(expected)) <= tolerance))


def invoke(handlers, **event_args) -> dict:
    return handlers.http_handler(http_api_event(**event_args), lambda_context())


def put_input(s3, bucket, photo, name=None) -> str:
    key = f"input/{name or uuid.uuid4().hex}.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=photo, ContentType="image/jpeg")
    return key


def test_upload_as_raw_body_returns_a_transparent_png_cutout(handlers, photo):
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"})

    assert response["statusCode"] == 200, response_body(response)[:300]
    assert header(response, "content-type") == "image/png"
    assert response["isBase64Encoded"] is True
    cutout = open_image(response_body(response))
    assert_astronaut_cutout(cutout)
    assert header(response, "x-width") == "512" and header(response, "x-height") == "512"
    assert int(header(response, "x-foreground-width")) > 300
    assert header(response, "x-request-id")


def test_upload_as_multipart_file_field(handlers, photo):
    body, content_type = multipart("file", "me.jpg", photo)
    response = invoke(handlers, body=body, headers={"content-type": content_type})

    assert response["statusCode"] == 200
    assert_astronaut_cutout(open_image(response_body(response)))


@pytest.mark.parametrize("fmt, content_type", [("HEIF", "image/heic"), ("AVIF", "image/avif")])
def test_phone_photos_in_heic_and_avif_come_out_upright_and_cut_out(handlers, photo, fmt, content_type):
    as_jpeg = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"})

    response = invoke(handlers, body=phone_photo(fmt), headers={"content-type": content_type})

    assert response["statusCode"] == 200, response_body(response)[:300]
    cutout = open_image(response_body(response))
    assert_astronaut_cutout(cutout)
    alpha = np.asarray(cutout)[:, :, 3].astype(int)
    difference = np.abs(alpha - np.asarray(open_image(response_body(as_jpeg)))[:, :, 3]).mean()
    assert difference < 3, f"the same mask as from the JPEG, but for compression: {difference:.2f}/255"


def test_presigned_s3_url_like_the_old_service(handlers, s3, bucket, photo):
    key = put_input(s3, bucket, photo)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)

    response = invoke(handlers, query={"image_url": url})

    assert response["statusCode"] == 200, response_body(response)[:300]
    assert_astronaut_cutout(open_image(response_body(response)))


def test_image_key_reads_the_input_prefix_with_the_functions_own_permissions(handlers, s3, bucket, photo):
    key = put_input(s3, bucket, photo)
    relative = key.removeprefix("input/")

    by_full_key = invoke(handlers, query={"image_key": key})
    by_relative_key = invoke(handlers, query={"image_key": relative})

    for response in (by_full_key, by_relative_key):
        assert response["statusCode"] == 200
        assert_astronaut_cutout(open_image(response_body(response)))


def test_output_key_stores_the_result_and_answers_with_a_presigned_url(handlers, s3, bucket, photo):
    name = f"cutouts/{uuid.uuid4().hex}.png"
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"output_key": name})

    assert response["statusCode"] == 201
    stored = response_json(response)
    assert stored["bucket"] == bucket and stored["key"] == f"results/{name}"  # the API's own folder
    assert (stored["width"], stored["height"], stored["format"]) == (512, 512, "png")
    obj = s3.get_object(Bucket=bucket, Key=stored["key"])
    assert obj["ContentType"] == "image/png"
    assert_astronaut_cutout(open_image(obj["Body"].read()))
    with urllib.request.urlopen(stored["url"]) as download:
        assert_astronaut_cutout(open_image(download.read()))


def test_output_key_never_overwrites_unless_asked(handlers, s3, bucket, photo):
    query = {"output_key": f"{uuid.uuid4().hex}.png"}
    first = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query=query)
    again = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={**query, "format": "webp"})
    forced = invoke(
        handlers,
        body=photo,
        headers={"content-type": "image/jpeg"},
        query={**query, "format": "webp", "overwrite": "true"},
    )

    assert first["statusCode"] == 201
    assert again["statusCode"] == 409 and response_json(again)["error"]["code"] == "output_exists"
    assert forced["statusCode"] == 201
    key = response_json(first)["key"]
    assert s3.get_object(Bucket=bucket, Key=key)["ContentType"] == "image/webp"


@pytest.mark.parametrize(
    "bad_key",
    [
        "../input/x.png",
        "/etc/passwd",
        "a//b.png",
        "results/../input/x.png",
        "x\x00.png",
        "a\u2028b.png",
        "\u202egnp.png",
        "x\ufeff.png",
        "x\x85.png",
    ],
)
def test_output_key_outside_the_results_prefix_is_refused_and_nothing_is_written(handlers, s3, bucket, photo, bad_key):
    before = s3.list_object_versions(Bucket=bucket).get("Versions", [])

    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"output_key": bad_key})

    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "key_not_allowed"
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == before


@pytest.mark.parametrize(
    "query, check",
    [
        ({"format": "webp"}, lambda img, body: img.format == "WEBP" and img.mode == "RGBA"),
        ({"only_mask": "true"}, lambda img, body: img.mode == "L" and np.asarray(img)[0, 0] < 10),
        (
            {"bgcolor": "ff0000"},
            lambda img, body: img.mode == "RGB" and near(np.asarray(img)[0, 0], (255, 0, 0)),
        ),
        (
            {"bgcolor": "00ff0080"},
            lambda img, body: img.mode == "RGBA" and near(np.asarray(img)[0, 0], (0, 255, 0, 128)),
        ),
    ],
    ids=["webp", "only_mask", "bgcolor", "bgcolor-alpha"],
)
def test_output_options(handlers, photo, query, check):
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query=query)

    assert response["statusCode"] == 200
    body = response_body(response)
    assert check(open_image(body), body)


def test_crop_trims_to_the_subject_and_reports_its_box(handlers, photo):
    full = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"})
    cropped = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"crop": "true"})

    image = open_image(response_body(cropped))
    width, height = int(header(full, "x-foreground-width")), int(header(full, "x-foreground-height"))
    assert image.size == (width, height)
    assert (header(cropped, "x-width"), header(cropped, "x-height")) == (str(width), str(height))
    assert header(cropped, "x-foreground-left") == "0" and header(cropped, "x-foreground-top") == "0"
    assert int(header(full, "x-foreground-top")) > 0, "the astronaut does not touch the top edge"


def test_health_names_the_model(handlers):
    response = invoke(handlers, method="GET", path="/health")

    assert response["statusCode"] == 200
    assert response_json(response) == {
        "status": "ok",
        "model": "u2netp",
        "models": ["u2netp"],
        "version": handlers.app.version,
        "auth": "iam",
        "max_body_bytes": 4_400_000,
        "max_input_bytes": 20_000_000,  # "20 MB" in the docs and on the page
        "uploads": True,
    }


def test_choosing_a_baked_model_reuses_its_one_session(handlers, photo):
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"model": "u2netp"})

    assert response["statusCode"] == 200
    assert handlers.models.get("u2netp") is handlers.models.get("u2netp") is handlers.model


@pytest.mark.parametrize("name", ["u2net", "birefnet-general", "../u2netp"])
def test_a_model_not_in_the_image_is_refused_with_the_list_of_models(handlers, photo, name):
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"model": name})

    assert response["statusCode"] == 422
    error = response_json(response)["error"]
    assert error["code"] == "model_not_available" and "u2netp" in error["message"]


def test_rest_api_v1_events_work_too(handlers, photo):
    import base64

    event = {
        "resource": "/remove-bg",
        "path": "/remove-bg",
        "httpMethod": "POST",
        "headers": {"Content-Type": "image/jpeg", "Host": "abc.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"Content-Type": ["image/jpeg"], "Host": ["abc.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": {"crop": "true"},
        "multiValueQueryStringParameters": {"crop": ["true"]},
        "requestContext": {
            "requestId": "v1-request",
            "stage": "prod",
            "httpMethod": "POST",
            "path": "/prod/remove-bg",
            "identity": {"sourceIp": "203.0.113.7", "userArn": "arn:aws:iam::123456789012:user/tester"},  # signed
        },
        "body": base64.b64encode(photo).decode(),
        "isBase64Encoded": True,
    }

    response = handlers.http_handler(event, lambda_context())

    assert response["statusCode"] == 200
    assert open_image(response_body(response)).mode == "RGBA"
    assert header(response, "x-request-id") == "v1-request"
