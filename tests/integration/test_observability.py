"""An operator reads what the function emits: JSON logs with correlation ids, EMF metrics per stage."""

from __future__ import annotations

import contextlib
import json
import sys
import uuid

import pytest

from function.bucket.storage import ObjectStore
from function.observability import logger, metrics
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import objects_in_notification
from tests.support import (
    SIGNER_ARN,
    faulty_client,
    http_api_event,
    jwt_authorizer,
    lambda_context,
    response_json,
    s3_put_event,
)


def emitted(capfd) -> list[dict]:
    """Every JSON document the function printed (Powertools logs and EMF metrics)."""
    documents = []
    for line in capfd.readouterr().out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                documents.append(json.loads(line))
    return documents


def emf(documents: list[dict]) -> list[dict]:
    return [d for d in documents if "_aws" in d]


def metric_names(document: dict) -> set[str]:
    return {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


@pytest.fixture
def capture(capfd, handlers, monkeypatch):
    """Read what the handlers print. Call it in the test body: pytest swaps sys.stdout per phase."""

    def start():
        # The JSON log handler keeps the stdout it was created with (another test's); point it here.
        monkeypatch.setattr(logger.registered_handler, "stream", sys.stdout)
        # Tests that drive the app or a processor without a handler leave their metrics unflushed;
        # they are not this request's.
        metrics.clear_metrics()
        capfd.readouterr()
        return capfd

    return start


def test_a_request_emits_stage_metrics_and_a_correlated_log(handlers, capture, photo):
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"})
    request_id = event["requestContext"]["requestId"]

    output = capture()
    response = handlers.http_handler(event, lambda_context())

    documents = emitted(output)
    assert response["statusCode"] == 200
    (metrics,) = [d for d in emf(documents) if "ImagesProcessed" in d]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RemoveBg"
    assert {"ImagesProcessed", "InputMegapixels", "DecodeMs", "InferMs", "ComposeEncodeMs", "TotalMs"} <= metric_names(
        metrics
    )
    assert metrics["ImagesProcessed"] == [1.0] and metrics["InputMegapixels"] == [pytest.approx(0.262, abs=0.001)]
    assert metrics["InferMs"][0] > 0
    (log,) = [d for d in documents if d.get("message") == "image processed"]
    assert log["correlation_id"] == request_id
    assert log["model"] == "u2netp" and log["service"] == "rembg" and "cold_start" in log
    assert set(log["stage_ms"]) >= {"decode", "infer", "compose_encode"}


def test_a_refused_request_counts_a_failure_by_code_and_carries_the_request_id(handlers, capture):
    event = http_api_event(body=b"plain text", headers={"content-type": "text/plain"})

    output = capture()
    response = handlers.http_handler(event, lambda_context())

    documents = emitted(output)
    assert response_json(response)["error"]["request_id"] == event["requestContext"]["requestId"]
    (failure,) = [d for d in emf(documents) if "Failures" in d]
    assert failure["error_code"] == "unsupported_media_type" and failure["Failures"] == [1.0]
    assert ["service", "error_code"] in failure["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    (log,) = [d for d in documents if d.get("message") == "request refused"]
    assert log["correlation_id"] == event["requestContext"]["requestId"]
    assert (log["error_code"], log["status"]) == ("unsupported_media_type", 415)


def test_an_s3_record_is_logged_under_its_key_with_fetch_and_store_timings(handlers, capture, s3, bucket, photo):
    key = f"input/observed-{uuid.uuid4().hex[:6]}.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=photo)

    output = capture()
    handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())

    documents = emitted(output)
    (metrics,) = [d for d in emf(documents) if "ImagesProcessed" in d]
    assert {"FetchMs", "StoreMs", "InferMs"} <= metric_names(metrics)
    (log,) = [d for d in documents if d.get("message") == "image processed"]
    assert log["correlation_id"] == key


def test_a_read_s3_denies_is_logged_as_an_error_and_counted(handlers, capture, embedded_s3, s3, bucket, photo):
    key = f"input/denied-{uuid.uuid4().hex[:6]}.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=photo)
    store = ObjectStore(faulty_client(embedded_s3, key, status=403, code="AccessDenied", operations=("HeadObject",)))

    output = capture()
    (outcome,) = S3Pipeline(handlers.settings, handlers.models, store).handle_all(
        objects_in_notification(s3_put_event(bucket, [key]))
    )

    documents = emitted(output)
    assert outcome.code == "storage_access_denied"
    (failure,) = [d for d in emf(documents) if "Failures" in d]
    assert failure["error_code"] == "storage_access_denied" and failure["Failures"] == [1.0]
    (log,) = [d for d in documents if d.get("error_code") == "storage_access_denied" and "_aws" not in d]
    assert log["level"] == "ERROR" and log["correlation_id"] == key


def test_every_api_log_line_names_the_caller_never_the_token(handlers, capture, app_in_mode, photo):
    from mangum import Mangum

    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    signed = http_api_event(body=photo, headers={"content-type": "image/jpeg"})
    with_token = http_api_event(
        body=b"not an image",
        headers={"content-type": "image/png", "authorization": f"Bearer {token}"},
        authorizer=jwt_authorizer("alice-sub"),
    )

    output = capture()
    handlers.http_handler(signed, lambda_context())
    Mangum(app_in_mode("jwt"), lifespan="off")(with_token, lambda_context())

    documents = [d for d in emitted(output) if "message" in d]
    assert {d["caller"] for d in documents if d.get("correlation_id") == signed["requestContext"]["requestId"]} == {
        SIGNER_ARN
    }
    refused = [d for d in documents if d.get("correlation_id") == with_token["requestContext"]["requestId"]]
    assert refused and {d["caller"] for d in refused} == {"alice-sub"}
    assert token not in output.readouterr().out + "".join(map(str, documents))


def test_a_refused_image_url_is_logged_by_the_fetcher_as_json_under_the_request_id(handlers, capture):
    # The fetcher logs through a plain stdlib logger; on Lambda only Powertools' handler reaches CloudWatch.
    event = http_api_event(query={"image_url": "https://attacker.example/cat.jpg"})
    request_id = event["requestContext"]["requestId"]

    output = capture()
    response = handlers.http_handler(event, lambda_context())

    documents = emitted(output)
    assert response_json(response)["error"]["code"] == "url_host_not_allowed"
    (log,) = [d for d in documents if str(d.get("message", "")).startswith("refused image URL")]
    assert log["name"] == "function.fetch.fetcher" and log["level"] == "WARNING"
    assert log["correlation_id"] == request_id and log["service"] == "rembg"
    assert "url_host_not_allowed" in log["message"] and "attacker" not in log["message"]
