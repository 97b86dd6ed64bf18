"""S3Pipeline's rules with a bucket in memory and a model that always sees a square: each input
version gives one output, racing writes lose at the store, failures leave a report under failed/,
and only what is worth a retry is raised. tests/integration/test_s3_pipeline.py runs the same
stories on moto and the real model."""

from __future__ import annotations

import json

import pytest

from function.errors import StorageAccessDenied, StorageUnavailable, TransientFailure
from function.pipeline.processor import S3Pipeline, Status, summary
from function.pipeline.records import InputObject, MalformedRecord
from tests.unit.standins import BUCKET, MemoryStore, SquareModel, StandInModels, decoded, photo_bytes, settings


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def model() -> SquareModel:
    return SquareModel()


@pytest.fixture
def pipeline(store, model) -> S3Pipeline:
    return S3Pipeline(settings(), StandInModels(model), store)


def drop(store: MemoryStore, key: str, body: bytes | None = None, **metadata: str):
    return store.upload(BUCKET, key, photo_bytes() if body is None else body, metadata)


def report(store: MemoryStore, key: str) -> dict:
    return json.loads(store.current(BUCKET, key).body)


def test_a_dropped_photo_becomes_a_cutout_under_output_that_names_its_source(store, pipeline):
    source = drop(store, "input/holiday/cat.jpg")

    outcome = pipeline.handle(InputObject(BUCKET, "input/holiday/cat.jpg"))

    assert (outcome.status, outcome.output_key) == (Status.PROCESSED, "output/holiday/cat.png")
    output = store.current(BUCKET, "output/holiday/cat.png")
    cutout = decoded(output.body)
    assert (cutout.format, cutout.mode, cutout.size, output.content_type) == ("PNG", "RGBA", (64, 48), "image/png")
    assert cutout.getpixel((20, 24)) == (0, 160, 0, 255) and cutout.getpixel((40, 24)) == (0, 0, 200, 255)
    assert cutout.getpixel((2, 2))[3] == 0  # outside the square the model saw
    assert output.metadata == {
        "source-key": "input/holiday/cat.jpg",
        "source-etag": source.etag,
        "source-version": source.version_id,
        "options": "",
        "model": "u2netp",
        "width": "64",
        "height": "48",
    }


def test_the_options_in_the_inputs_metadata_shape_and_name_the_output(store, pipeline):
    drop(store, "input/cat.jpg", format="webp", bgcolor="ffffff")

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert outcome.output_key == "output/cat.webp"
    output = store.current(BUCKET, "output/cat.webp")
    cutout = decoded(output.body)
    assert (cutout.format, cutout.mode, output.content_type) == ("WEBP", "RGB", "image/webp")
    assert cutout.getpixel((2, 2)) == (255, 255, 255)  # the background, now white
    assert output.metadata["options"] == "format%3Dwebp%2Cbgcolor%3Dffffff"


def test_the_same_record_delivered_again_is_a_duplicate_that_does_no_work(store, model, pipeline):
    drop(store, "input/cat.jpg")

    statuses = [pipeline.handle(InputObject(BUCKET, "input/cat.jpg")).status for _ in range(3)]

    assert statuses == [Status.PROCESSED, Status.DUPLICATE, Status.DUPLICATE]
    assert len(store.objects[(BUCKET, "output/cat.png")]) == 1 and model.calls == 1


def test_the_same_bytes_uploaded_again_with_other_options_are_new_work(store, pipeline):
    drop(store, "input/cat.jpg")
    pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))
    again = drop(store, "input/cat.jpg", bgcolor="ff0000")

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert outcome.status is Status.PROCESSED
    output = store.current(BUCKET, "output/cat.png")
    assert output.metadata["source-version"] == again.version_id
    assert decoded(output.body).getpixel((2, 2)) == (255, 0, 0)


def test_a_newer_upload_replaces_the_output_it_made_before(store, pipeline):
    drop(store, "input/cat.jpg")
    pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))
    newer = drop(store, "input/cat.jpg", photo_bytes(size=(40, 30)))

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert outcome.status is Status.PROCESSED
    versions = store.objects[(BUCKET, "output/cat.png")]
    assert len(versions) == 2 and decoded(versions[-1].body).size == (40, 30)
    assert versions[-1].metadata["source-etag"] == newer.etag


def rival_writes(store: MemoryStore, key: str, body: bytes = b"the rival's cutout"):
    """Another invocation of the same event finishing its write while this one runs the model."""

    def write() -> None:
        store.upload(BUCKET, key, body, {"source-key": "input/cat.jpg"})

    return write


def test_a_racing_duplicate_that_writes_the_first_output_first_wins(store, model, pipeline):
    drop(store, "input/cat.jpg")
    model.while_running = rival_writes(store, "output/cat.png")

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert (outcome.status, outcome.output_key) == (Status.DUPLICATE, "output/cat.png")
    assert [v.body for v in store.objects[(BUCKET, "output/cat.png")]] == [b"the rival's cutout"]


def test_a_racing_duplicate_that_replaces_an_older_output_first_wins(store, model, pipeline):
    drop(store, "input/cat.jpg")
    pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))
    drop(store, "input/cat.jpg", photo_bytes(size=(40, 30)))
    model.while_running = rival_writes(store, "output/cat.png")

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert outcome.status is Status.DUPLICATE
    assert store.current(BUCKET, "output/cat.png").body == b"the rival's cutout"
    assert len(store.objects[(BUCKET, "output/cat.png")]) == 2  # the first output and the rival's, not ours


def test_an_output_another_input_made_is_never_overwritten_and_the_clash_is_reported(store, pipeline):
    drop(store, "input/cat.png")
    pipeline.handle(InputObject(BUCKET, "input/cat.png"))
    clash = drop(store, "input/cat.jpg")

    outcome = pipeline.handle(InputObject(BUCKET, "input/cat.jpg"))

    assert (outcome.status, outcome.code, outcome.output_key) == (Status.FAILED, "output_exists", "failed/cat.jpg.json")
    assert store.current(BUCKET, "output/cat.png").metadata["source-key"] == "input/cat.png"
    assert len(store.objects[(BUCKET, "output/cat.png")]) == 1
    written = report(store, "failed/cat.jpg.json")
    assert written["source"] == {
        "bucket": BUCKET,
        "key": "input/cat.jpg",
        "etag": clash.etag,
        "version": clash.version_id,
    }
    assert written["error"]["code"] == "output_exists" and "rename this input" in written["error"]["message"]


@pytest.mark.parametrize(
    "body, metadata, code",
    [
        (b"", {}, "image_empty"),
        (b"hello, not a picture", {}, "unsupported_media_type"),
        (photo_bytes(fmt="PNG")[:60], {}, "image_undecodable"),
        (None, {"format": "gif"}, "invalid_format"),
        (None, {"model": "u2net_human_seg"}, "model_not_available"),
        (photo_bytes() + bytes(5_000), {}, "input_too_large"),
    ],
    ids=["empty", "not-an-image", "truncated", "bad-format", "unknown-model", "too-large"],
)
def test_a_file_that_would_fail_every_time_leaves_a_report_and_no_output(store, model, body, metadata, code):
    source = drop(store, "input/bad.jpg", body, **metadata)
    pipeline = S3Pipeline(settings(max_input_bytes=5_000), StandInModels(model), store)

    outcome = pipeline.handle(InputObject(BUCKET, "input/bad.jpg"))

    assert (outcome.status, outcome.code, outcome.output_key) == (Status.FAILED, code, "failed/bad.jpg.json")
    written = report(store, "failed/bad.jpg.json")
    assert written["source"]["etag"] == source.etag and written["error"]["code"] == code
    assert store.current(BUCKET, "failed/bad.jpg.json").content_type == "application/json"
    assert store.keys(BUCKET) == ["failed/bad.jpg.json", "input/bad.jpg"]  # the input is left as it was


@pytest.mark.parametrize(
    "bucket, key",
    [
        (BUCKET, "elsewhere/cat.jpg"),
        (BUCKET, "input/folder/"),
        (BUCKET, "output/cat.png"),
        ("another-bucket", "input/cat.jpg"),
    ],
)
def test_records_that_are_not_ours_are_ignored_without_a_read(store, model, bucket, key):
    store.upload(bucket, key, photo_bytes())
    pipeline = S3Pipeline(settings(), StandInModels(model), store)

    outcome = pipeline.handle(InputObject(bucket, key))

    assert outcome.status is Status.IGNORED and model.calls == 0
    assert list(store.objects) == [(bucket, key)]


def test_a_record_whose_object_is_gone_is_ignored(store, pipeline):
    outcome = pipeline.handle(InputObject(BUCKET, "input/deleted.jpg"))

    assert (outcome.status, outcome.detail) == (Status.IGNORED, "the object no longer exists")
    assert store.keys(BUCKET) == []


def test_an_object_s3_denies_us_is_reported_never_ignored(store, pipeline):
    store.faults[(BUCKET, "input/locked.jpg")] = StorageAccessDenied("S3 denied the function's role")

    outcome = pipeline.handle(InputObject(BUCKET, "input/locked.jpg"))

    assert (outcome.status, outcome.code) == (Status.FAILED, "storage_access_denied")
    written = report(store, "failed/locked.jpg.json")
    assert written["source"] == {"bucket": BUCKET, "key": "input/locked.jpg", "etag": None, "version": None}


def test_a_throttled_record_is_retried_after_the_others_are_done(store, pipeline):
    for name in ("a", "b", "c"):
        drop(store, f"input/{name}.jpg")
    store.faults[(BUCKET, "input/b.jpg")] = StorageUnavailable("S3 is unavailable (SlowDown); try again")
    records = [InputObject(BUCKET, f"input/{name}.jpg") for name in ("a", "b", "c")]

    with pytest.raises(TransientFailure) as raised:
        pipeline.handle_all(records)

    assert [o.status for o in raised.value.outcomes] == [Status.PROCESSED, Status.TRANSIENT, Status.PROCESSED]
    assert raised.value.outcomes[1].code == "transient"
    assert store.keys(BUCKET) == ["input/a.jpg", "input/b.jpg", "input/c.jpg", "output/a.png", "output/c.png"]


def test_a_batch_with_a_malformed_record_reports_it_beside_the_good_one(store, pipeline):
    drop(store, "input/cat.jpg")

    outcomes = pipeline.handle_all(
        [MalformedRecord("Records[1]", "no s3.object.key"), InputObject(BUCKET, "input/cat.jpg")]
    )

    counted = summary(outcomes)
    assert {k: counted[k] for k in ("processed", "duplicate", "ignored", "failed")} == {
        "processed": 1,
        "duplicate": 0,
        "ignored": 0,
        "failed": 1,
    }
    assert counted["records"][0] == {
        "key": "Records[1]",
        "status": "failed",
        "output_key": None,
        "code": "event_malformed",
        "detail": "no s3.object.key",
    }


def test_with_a_results_bucket_outputs_and_reports_go_there(store, model):
    drop(store, "input/cat.jpg")
    drop(store, "input/bad.jpg", b"")
    pipeline = S3Pipeline(settings(output_bucket="cutouts"), StandInModels(model), store)

    pipeline.handle_all([InputObject(BUCKET, "input/cat.jpg"), InputObject(BUCKET, "input/bad.jpg")])

    assert store.keys("cutouts") == ["failed/bad.jpg.json", "output/cat.png"]
    assert store.keys(BUCKET) == ["input/bad.jpg", "input/cat.jpg"]
