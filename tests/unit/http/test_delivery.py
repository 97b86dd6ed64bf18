"""How a cutout leaves the API, with a bucket in memory: inline when it fits a Lambda response,
parked under results/ with a 303 (or a 201 for redirect=false) when it does not, 413 without a
bucket; stored under a caller's output_key with 201, never over an existing object unless asked."""

from __future__ import annotations

import json

import pytest

from function.errors import OutputExists, OutputTooLarge, StorageNotConfigured
from function.http.delivery import Delivery, Destination
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import Cutout, remove_background
from function.settings import Settings
from tests.unit.standins import BUCKET, MemoryStore, SquareModel, decoded, photo_bytes, settings


@pytest.fixture(scope="module")
def cutout() -> Cutout:
    return remove_background(photo_bytes(), RemovalOptions(), SquareModel(), settings().decode_limits)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def small_responses(**overrides) -> Settings:
    """A response limit the cutout does not fit, as a large photo's would not fit 4.4 MB."""
    return settings(max_response_bytes=100, presigned_url_ttl=600, **overrides)


def test_a_cutout_that_fits_comes_back_inline_with_its_sizes(store, cutout):
    response = Delivery(settings(), store).respond(cutout, Destination(), {})

    assert (response.status_code, response.media_type) == (200, "image/png")
    assert response.body == cutout.body and decoded(response.body).size == (64, 48)
    assert {name: response.headers[name] for name in ("x-width", "x-height")} == {"x-width": "64", "x-height": "48"}
    box = [response.headers[f"x-foreground-{side}"] for side in ("left", "top", "width", "height")]
    edge = cutout.foreground
    assert box == [str(v) for v in (edge.left, edge.top, edge.width, edge.height)] and 10 < edge.left < 20
    assert store.objects == {}


def test_a_cutout_too_large_to_answer_is_parked_in_the_callers_folder_and_redirected_to(store, cutout):
    response = Delivery(small_responses(), store).respond(cutout, Destination(folder="alice/"), {})

    answer = json.loads(response.body)
    assert response.status_code == 303 and response.headers["location"] == answer["url"]
    assert answer["bucket"] == BUCKET and answer["key"].startswith("results/alice/") and answer["key"].endswith(".png")
    assert answer["url"] == f"https://{BUCKET}.s3.example/{answer['key']}?expires=600"
    assert (answer["width"], answer["height"], answer["format"]) == (64, 48, "png")
    assert store.current(BUCKET, answer["key"]).body == cutout.body


def test_a_browser_that_cannot_follow_the_redirect_gets_the_same_answer_as_201(store, cutout):
    response = Delivery(small_responses(), store).respond(cutout, Destination(redirect=False), {})

    answer = json.loads(response.body)
    assert response.status_code == 201 and response.headers["location"] == answer["url"]
    assert store.keys(BUCKET) == [answer["key"]]


def test_two_large_results_are_parked_under_two_keys(store, cutout):
    delivery = Delivery(small_responses(), store)

    keys = {json.loads(delivery.respond(cutout, Destination(), {}).body)["key"] for _ in range(2)}

    assert len(keys) == 2


def test_without_a_bucket_a_cutout_too_large_to_answer_is_a_413_that_says_what_to_do(store, cutout):
    with pytest.raises(OutputTooLarge) as refused:
        Delivery(small_responses(aws_bucket_name=None), store).respond(cutout, Destination(), {})

    assert refused.value.status == 413 and "format=webp" in refused.value.message


def test_an_output_key_stores_the_cutout_there_and_answers_201_even_when_it_would_fit(store, cutout):
    stage_ms = {}

    response = Delivery(settings(), store).respond(cutout, Destination(output_key="results/cat.png"), stage_ms)

    assert response.status_code == 201 and "location" not in response.headers
    assert json.loads(response.body)["key"] == "results/cat.png" and response.headers["x-width"] == "64"
    stored = store.current(BUCKET, "results/cat.png")
    assert (stored.body, stored.content_type) == (cutout.body, "image/png")
    assert "store" in stage_ms


def test_an_output_key_is_never_overwritten_unless_the_caller_asks(store, cutout):
    store.upload(BUCKET, "results/cat.png", b"yesterday's cutout")
    delivery = Delivery(settings(), store)

    with pytest.raises(OutputExists) as refused:
        delivery.respond(cutout, Destination(output_key="results/cat.png"), {})
    assert refused.value.status == 409 and "overwrite=true" in refused.value.message
    assert store.current(BUCKET, "results/cat.png").body == b"yesterday's cutout"

    response = delivery.respond(cutout, Destination(output_key="results/cat.png", overwrite=True), {})

    assert response.status_code == 201 and store.current(BUCKET, "results/cat.png").body == cutout.body


def test_an_output_key_without_a_bucket_is_refused(store, cutout):
    with pytest.raises(StorageNotConfigured):
        Delivery(settings(aws_bucket_name=None), store).respond(cutout, Destination(output_key="results/c.png"), {})


def test_results_go_to_the_output_bucket_when_there_is_one(store, cutout):
    response = Delivery(small_responses(output_bucket="cutouts"), store).respond(cutout, Destination(), {})

    assert json.loads(response.body)["bucket"] == "cutouts" and store.keys(BUCKET) == []
