"""Who may do what, mode by mode, with the events API Gateway sends: a public API never touches the
bucket for a caller, a JWT caller stays in its own folder whatever it types, a signed caller is
trusted with the prefixes; a missing identity is a 401; and no API call can squat, replace or
block an S3 pipeline output."""

from __future__ import annotations

import re
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests
from mangum import Mangum

from local.gateway import LocalJwtAuthorizer
from tests.support import (
    assert_astronaut_cutout,
    header,
    http_api_event,
    iam_authorizer,
    jpeg_bytes,
    jwt_authorizer,
    lambda_context,
    open_image,
    recording_server,
    response_body,
    response_json,
    run_signing_example,
    s3_put_event,
    served,
    sigv4_signature_is_valid,
)

# Fixed, so test ids are the same in every process (pytest-xdist checks); each session has its own bucket.
ALICE, BOB = "alice-5e1d0a", "bob-4b75a3"


@pytest.fixture(scope="module")
def handler_in(app_in_mode):
    """mode -> an http_handler-like callable over the app under that API_AUTH."""
    handlers = {mode: Mangum(app_in_mode(mode), lifespan="off") for mode in ("none", "jwt", "iam")}
    return lambda mode, **event_args: handlers[mode](http_api_event(**event_args), lambda_context())


def everything_in(s3, bucket) -> set[tuple[str, str]]:
    """Every version of every object in the bucket (all pages)."""
    found = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        found |= {(v["Key"], v["VersionId"]) for v in page.get("Versions", [])}
    return found


def assert_error(response: dict, status: int, code: str) -> None:
    assert response["statusCode"] == status, response_body(response)[:300]
    assert response_json(response)["error"]["code"] == code


def upload(**event_args) -> dict:
    return {"body": jpeg_bytes(), "headers": {"content-type": "image/jpeg"}, **event_args}


# --------------------------------------------------------------------------- none: public, no bucket


@pytest.mark.parametrize(
    "query",
    [
        {"image_key": "sample.jpg"},
        {"output_key": "mine.png"},
        {"overwrite": "true"},
        {"output_key": "mine.png", "overwrite": "true"},
        {"output_key": ""},
    ],
    ids=["image_key", "output_key", "overwrite", "output_key+overwrite", "empty-output_key"],
)
def test_a_public_api_refuses_the_bucket_parameters_with_a_403_and_writes_nothing(handler_in, s3, bucket, query):
    s3.put_object(Bucket=bucket, Key="input/sample.jpg", Body=jpeg_bytes())
    before = everything_in(s3, bucket)

    anonymous = handler_in("none", **upload(query=query, authorizer=None))
    signed = handler_in("none", **upload(query=query))  # a gateway identity changes nothing in a public API

    for response in (anonymous, signed):
        assert_error(response, 403, "authorization_required")
    assert everything_in(s3, bucket) == before


def test_a_public_api_still_takes_uploads_and_urls(handler_in, s3, bucket):
    s3.put_object(Bucket=bucket, Key="input/public-url.jpg", Body=jpeg_bytes())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "input/public-url.jpg"})

    uploaded = handler_in("none", **upload(authorizer=None))
    by_url = handler_in("none", query={"image_url": url}, authorizer=None)

    for response in (uploaded, by_url):
        assert response["statusCode"] == 200
        assert_astronaut_cutout(open_image(response_body(response)))


def test_a_public_api_parks_a_large_result_under_an_unguessable_key(app_in_mode):
    handler = Mangum(app_in_mode("none", max_response_bytes=10_000), lifespan="off")

    response = handler(http_api_event(**upload(query={"redirect": "false"}, authorizer=None)), lambda_context())

    assert response["statusCode"] == 201
    stored = response_json(response)
    assert (
        stored["key"].startswith("results/")
        and len(stored["key"].removeprefix("results/")) == len(uuid.uuid4().hex) + 4
    )
    with urllib.request.urlopen(stored["url"]) as download:
        assert open_image(download.read()).size == (512, 512)


# --------------------------------------------------------------------------- who is calling: fail closed


@pytest.mark.parametrize(
    "mode, authorizer",
    [
        ("jwt", None),
        ("jwt", iam_authorizer()),
        ("jwt", {"jwt": {"claims": {}, "scopes": None}}),
        ("iam", None),
        ("iam", jwt_authorizer("alice")),
    ],
    ids=[
        "jwt-no-claims",
        "jwt-behind-an-iam-gateway",
        "jwt-claims-without-sub",
        "iam-unsigned",
        "iam-behind-a-jwt-gateway",
    ],
)
def test_without_the_identity_its_mode_needs_a_request_is_a_401(handler_in, s3, bucket, mode, authorizer):
    before = everything_in(s3, bucket)

    response = handler_in(mode, **upload(query={"output_key": "x.png"}, authorizer=authorizer))

    assert_error(response, 401, "authentication_required")
    assert everything_in(s3, bucket) == before


@pytest.mark.parametrize("mode", ["iam", "jwt"])
@pytest.mark.parametrize("path", ["/remove-bg", "/uploads", "/jobs/abc"])
def test_a_browsers_preflight_needs_no_identity_where_cors_is_on(app_in_mode, mode, path):
    """With FrontendUrl set, the template routes OPTIONS /{proxy+} without authorization (a preflight
    carries no credentials): whatever answers it, API Gateway or this app, it must not be a 401."""
    origin = "https://app.example.com"
    handler = Mangum(app_in_mode(mode, frontend_url=origin), lifespan="off")
    event = http_api_event(
        method="OPTIONS",
        path=path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    event["routeKey"] = "OPTIONS /{proxy+}"

    response = handler(event, lambda_context())

    assert response["statusCode"] == 200, response_body(response)[:300]
    assert header(response, "access-control-allow-origin") == origin
    assert "POST" in header(response, "access-control-allow-methods")


@pytest.mark.parametrize("sub", ["..", ".", "", "alice/../bob"])
def test_a_token_whose_sub_cannot_be_a_folder_is_refused(handler_in, sub):
    response = handler_in("jwt", **upload(query={"output_key": "x.png"}, authorizer=jwt_authorizer(sub)))

    assert response["statusCode"] in (401, 403)
    assert response_json(response)["error"]["code"] in ("caller_not_allowed", "authentication_required")


@pytest.mark.parametrize("mode", ["jwt", "iam"])
def test_the_public_routes_need_no_identity(handler_in, mode):
    health = handler_in(mode, method="GET", path="/health", authorizer=None)
    page = handler_in(mode, method="GET", path="/", authorizer=None)

    assert health["statusCode"] == 200 and response_json(health)["auth"] == mode
    assert page["statusCode"] == 200


# --------------------------------------------------------------------------- jwt: each caller in its folder

# Ways a caller might try to reach another caller's folder (here: Bob's), by any spelling.
ESCAPES = [
    "../{bob}/{name}",
    "/{bob}/{name}",
    "{bob}/../../{bob}/{name}",
    "./../{bob}/{name}",
    "input/{bob}/{name}",
    "results/{bob}/{name}",
    "input/{alice}/../{bob}/{name}",
    "..%2F{bob}%2F{name}",
    "%2E%2E/{bob}/{name}",
    "..%252F{bob}%252F{name}",
    "..\\{bob}\\{name}",
    "..\N{DIVISION SLASH}{bob}\N{DIVISION SLASH}{name}",
    "\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}/{bob}/{name}",
    "..\N{FULLWIDTH SOLIDUS}{bob}\N{FULLWIDTH SOLIDUS}{name}",
    "\u202e../{bob}/{name}",
    "//{bob}/{name}",
    "{bob}/{name}",
    "..\u2028/{bob}/{name}",
    "../{bob}/{name}\ufeff",
]


def spellings(name: str) -> list[str]:
    return [escape.format(alice=ALICE, bob=BOB, name=name) for escape in ESCAPES]


def test_a_jwt_caller_reads_its_own_folder_by_relative_or_full_key(handler_in, s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"input/{ALICE}/me.jpg", Body=jpeg_bytes())

    for key in ("me.jpg", f"input/{ALICE}/me.jpg"):
        response = handler_in("jwt", query={"image_key": key}, authorizer=jwt_authorizer(ALICE))
        assert response["statusCode"] == 200, key
        assert_astronaut_cutout(open_image(response_body(response)))


@pytest.mark.parametrize("key", spellings("secret.jpg"))
def test_no_spelling_of_image_key_reads_another_callers_folder(handler_in, s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=f"input/{BOB}/secret.jpg", Body=jpeg_bytes())

    response = handler_in("jwt", query={"image_key": key}, authorizer=jwt_authorizer(ALICE))

    assert response["statusCode"] == 400, response_body(response)[:300]
    assert response_json(response)["error"]["code"] in ("key_not_allowed", "image_not_found")


@pytest.fixture(scope="module")
def bobs_result(handler_in, s3, bucket) -> dict:
    """Bob's stored result, written once: what Alice will try to replace."""
    response = handler_in("jwt", **upload(query={"output_key": "mine.png"}, authorizer=jwt_authorizer(BOB)))
    assert response["statusCode"] == 201
    return s3.head_object(Bucket=bucket, Key=f"results/{BOB}/mine.png")


@pytest.mark.parametrize("key", spellings("mine.png"))
def test_no_spelling_of_output_key_writes_into_another_callers_folder(handler_in, s3, bucket, bobs_result, key):
    response = handler_in(
        "jwt", **upload(query={"output_key": key, "overwrite": "true"}, authorizer=jwt_authorizer(ALICE))
    )

    if response["statusCode"] == 201:
        assert response_json(response)["key"].startswith(f"results/{ALICE}/")
    else:
        assert_error(response, 400, "key_not_allowed")
    bobs = s3.list_object_versions(Bucket=bucket, Prefix=f"results/{BOB}/").get("Versions", [])
    assert [(v["Key"], v["ETag"]) for v in bobs] == [(f"results/{BOB}/mine.png", bobs_result["ETag"])]


def test_a_jwt_callers_large_results_are_parked_in_its_own_folder(app_in_mode):
    handler = Mangum(app_in_mode("jwt", max_response_bytes=10_000), lifespan="off")

    response = handler(http_api_event(**upload(query={"redirect": "false"}, authorizer=jwt_authorizer(ALICE))), None)

    assert response["statusCode"] == 201
    assert response_json(response)["key"].startswith(f"results/{ALICE}/")


# --------------------------------------------------------------------------- iam: trusted with the prefixes


def test_a_signed_caller_reads_any_key_under_the_input_prefix(handler_in, s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"input/{BOB}/secret.jpg", Body=jpeg_bytes())

    response = handler_in("iam", query={"image_key": f"{BOB}/secret.jpg"})

    assert response["statusCode"] == 200


# --------------------------------------------------------------------------- no squatting the pipeline


@pytest.mark.parametrize("spelling", ["{name}", "output/{name}"])
def test_an_api_output_key_never_replaces_or_blocks_the_pipelines_output(handlers, handler_in, s3, bucket, spelling):
    name = f"{uuid.uuid4().hex[:8]}/holiday/photo.png"
    pipeline_output = f"output/{name}"
    squat = {"output_key": spelling.format(name=name), "overwrite": "true"}
    odd_photo = jpeg_bytes(quality=30)  # not the owner's photo

    before = handler_in("iam", body=odd_photo, headers={"content-type": "image/jpeg"}, query=squat)
    s3.put_object(Bucket=bucket, Key=f"input/{name[:-4]}.jpg", Body=jpeg_bytes())
    (record,) = handlers.s3_handler(s3_put_event(bucket, [f"input/{name[:-4]}.jpg"]), lambda_context())["records"]
    owners = s3.head_object(Bucket=bucket, Key=pipeline_output)
    after = handler_in("iam", body=odd_photo, headers={"content-type": "image/jpeg"}, query=squat)

    assert (record["status"], record["output_key"]) == ("processed", pipeline_output)
    for response in (before, after):
        assert response["statusCode"] == 201 and response_json(response)["key"].startswith("results/")
    assert s3.head_object(Bucket=bucket, Key=pipeline_output)["ETag"] == owners["ETag"]
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=pipeline_output)["Versions"]) == 1
    assert owners["Metadata"]["source-key"].endswith("photo.jpg")
    assert_astronaut_cutout(open_image(s3.get_object(Bucket=bucket, Key=pipeline_output)["Body"].read()))


# --------------------------------------------------------------------------- the local JWT authorizer


def test_the_local_jwt_authorizer_lets_in_valid_tokens_only(app_in_mode, s3, bucket):
    gateway = LocalJwtAuthorizer(app_in_mode("jwt"))
    s3.put_object(Bucket=bucket, Key=f"input/{ALICE}/local.jpg", Body=jpeg_bytes())
    stranger = LocalJwtAuthorizer(app_in_mode("jwt"))  # same claims, another key
    tokens = {
        "valid": gateway.token_for(ALICE),
        "expired": gateway.token_for(ALICE, lifetime=-60),
        "wrong audience": gateway.token_for(ALICE, aud="someone-else"),
        "foreign key": stranger.token_for(ALICE),
        "not a jwt": "hello",
    }

    with served(gateway) as api:
        health = requests.get(f"{api}/health", timeout=10)
        answers = {
            name: requests.post(
                f"{api}/remove-bg",
                params={"image_key": "local.jpg"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            for name, token in tokens.items()
        }
        bare = requests.post(f"{api}/remove-bg", params={"image_key": "local.jpg"}, timeout=10)

    assert health.status_code == 200 and health.json()["auth"] == "jwt"
    assert answers.pop("valid").status_code == 200
    for name, answer in {**answers, "no token": bare}.items():
        assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"}), name
    assert bare.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------- the security page's signing example

SECURITY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_documented_sigv4_example_signs_a_request_api_gateway_would_accept(tmp_path):
    (code,) = re.findall(r"<!-- sigv4-example .*? -->\n```python\n(.*?)```", SECURITY_PAGE.read_text(), re.S)

    with recording_server() as (api, seen):
        run = run_signing_example(code, api, tmp_path)

    assert run.returncode == 0, run.stderr[-2000:]
    ((method, path, headers, body),) = seen
    assert (method, path, body) == ("POST", "/remove-bg", jpeg_bytes())
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in headers["authorization"]
    assert sigv4_signature_is_valid(method, path, headers, body)
    assert (tmp_path / "cutout.png").read_bytes().startswith(b"\x89PNG")
