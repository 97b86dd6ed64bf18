"""A user drops photos under input/ and finds cutouts under output/: each input version exactly once."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from function.bucket.keys import MAX_KEY_BYTES
from function.bucket.storage import ObjectStore
from function.errors import TransientFailure
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import objects_in_notification
from local.events import on_failure_record
from tests.support import (
    assert_astronaut_cutout,
    faulty_client,
    faulty_pipeline,
    jpeg_bytes,
    lambda_context,
    open_image,
    s3_put_event,
    sqs_event,
)


def unique(name: str) -> str:
    return f"input/{uuid.uuid4().hex[:8]}/{name}"


def drop(s3, bucket, key, body) -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')


def output_versions(s3, bucket, key) -> list[dict]:
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [v for v in versions if v["Key"] == key]


def output_key(input_key: str) -> str:
    return input_key.replace("input/", "output/", 1).replace(".jpg", ".png")


def read(s3, bucket, key) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


AWKWARD_NAMES = {
    "plain.jpg": "plain.png",
    "with space.jpg": "with space.png",
    "a+b=c&d.jpg": "a+b=c&d.png",
    "100% real.jpg": "100% real.png",
    "ünïcødé/фото 写真.jpeg": "ünïcødé/фото 写真.png",
    "nested/deeper/still/x.JPG": "nested/deeper/still/x.png",
    "no-extension": "no-extension.png",
}


def test_photos_with_awkward_keys_come_out_under_output(handlers, s3, bucket, photo):
    folder = unique("")
    keys = [folder + name for name in AWKWARD_NAMES]
    for key in keys:
        drop(s3, bucket, key, photo)

    result = handlers.s3_handler(s3_put_event(bucket, keys), lambda_context())

    assert result["processed"] == len(keys) and result["failed"] == 0
    expected = [folder.replace("input/", "output/", 1) + out for out in AWKWARD_NAMES.values()]
    assert [record["output_key"] for record in result["records"]] == expected
    for key in expected:
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert obj["ContentType"] == "image/png"
        assert obj["Metadata"]["model"] == "u2netp"
        assert_astronaut_cutout(open_image(obj["Body"].read()))


def test_a_1024_byte_key_still_gets_a_valid_output_key(handlers, s3, bucket, photo):
    prefix = unique("")
    key = prefix + "k" * (MAX_KEY_BYTES - len(prefix) - 4) + ".jpg"
    assert len(key.encode()) == MAX_KEY_BYTES
    drop(s3, bucket, key, photo)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert record["status"] == "processed"
    assert record["output_key"].startswith("output/") and len(record["output_key"].encode()) <= MAX_KEY_BYTES
    assert_astronaut_cutout(open_image(read(s3, bucket, record["output_key"])))


def test_the_same_event_three_times_leaves_one_output(handlers, s3, bucket, photo):
    key = unique("repeated.jpg")
    etag = drop(s3, bucket, key, photo)
    event = s3_put_event(bucket, [key])

    statuses = [handlers.s3_handler(event, lambda_context())["records"][0]["status"] for _ in range(3)]

    out_key = key.replace("input/", "output/", 1).replace(".jpg", ".png")
    assert statuses == ["processed", "duplicate", "duplicate"]
    assert len(output_versions(s3, bucket, out_key)) == 1
    metadata = s3.head_object(Bucket=bucket, Key=out_key)["Metadata"]
    assert metadata["source-etag"] == etag and metadata["source-key"]


def test_the_same_event_delivered_concurrently_leaves_one_output(handlers, s3, bucket, photo):
    key = unique("concurrent.jpg")
    drop(s3, bucket, key, photo)
    event = s3_put_event(bucket, [key])
    statuses, barrier = [], threading.Barrier(3)

    def deliver():
        barrier.wait()
        statuses.append(handlers.s3_handler(event, lambda_context())["records"][0]["status"])

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(statuses) == ["duplicate", "duplicate", "processed"]
    assert len(output_versions(s3, bucket, key.replace("input/", "output/", 1).replace(".jpg", ".png"))) == 1


def test_a_newer_upload_of_the_same_key_replaces_the_output(handlers, s3, bucket, photo):
    key = unique("updated.jpg")
    drop(s3, bucket, key, photo)
    handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())
    newer_etag = drop(s3, bucket, key, jpeg_bytes(quality=70))

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert record["status"] == "processed"
    assert len(output_versions(s3, bucket, record["output_key"])) == 2
    assert s3.head_object(Bucket=bucket, Key=record["output_key"])["Metadata"]["source-etag"] == newer_etag


@pytest.mark.parametrize("key", ["output/some/cutout.png", "failed/x.json", "elsewhere/photo.jpg", "input/folder/"])
def test_events_outside_the_input_prefix_do_nothing(handlers, s3, bucket, key, photo):
    s3.put_object(Bucket=bucket, Key=key, Body=photo)
    before = s3.list_object_versions(Bucket=bucket).get("Versions", [])

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert record["status"] == "ignored"
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == before


@pytest.mark.parametrize(
    "name, body, code",
    [
        ("empty.jpg", b"", "image_empty"),
        ("notes.jpg", b"this is a shopping list, not a photo", "unsupported_media_type"),
        ("truncated.jpg", jpeg_bytes()[:4000], "image_undecodable"),
    ],
)
def test_bad_files_leave_a_failure_report_and_the_input_untouched(handlers, s3, bucket, name, body, code):
    key = unique(name)
    etag = drop(s3, bucket, key, body)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert record["status"] == "failed" and record["code"] == code
    report = json.loads(read(s3, bucket, record["output_key"]))
    assert record["output_key"] == key.replace("input/", "failed/", 1) + ".json"
    assert report["error"]["code"] == code and report["source"] == {
        "bucket": bucket,
        "key": key,
        "etag": etag,
        "version": report["source"]["version"],
    }
    assert s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"') == etag
    assert not output_versions(s3, bucket, key.replace("input/", "output/", 1).replace(".jpg", ".png"))


def test_five_records_two_bad_give_three_outputs_and_two_reports(handlers, s3, bucket, photo):
    good = [unique(f"good-{i}.jpg") for i in range(3)]
    bad = [unique("bad-1.jpg"), unique("bad-2.jpg")]
    for key in good:
        drop(s3, bucket, key, photo)
    for key in bad:
        drop(s3, bucket, key, b"GIF89a garbage")

    result = handlers.s3_handler(s3_put_event(bucket, [good[0], bad[0], good[1], bad[1], good[2]]), lambda_context())

    assert (result["processed"], result["failed"]) == (3, 2)
    assert [r["status"] for r in result["records"]] == ["processed", "failed", "processed", "failed", "processed"]
    assert all(r["output_key"].startswith("failed/") for r in result["records"] if r["status"] == "failed")


def test_a_transient_s3_error_raises_for_a_retry_after_the_other_records_are_done(
    handlers, embedded_s3, s3, bucket, photo
):
    flaky, fine = unique("flaky.jpg"), unique("fine.jpg")
    drop(s3, bucket, flaky, photo)
    drop(s3, bucket, fine, photo)
    pipeline = faulty_pipeline(handlers, embedded_s3, flaky)

    with pytest.raises(TransientFailure) as raised:
        pipeline.handle_all(objects_in_notification(s3_put_event(bucket, [flaky, fine])))

    assert [o.status for o in raised.value.outcomes] == ["transient", "processed"]
    assert not output_versions(s3, bucket, flaky.replace("input/", "output/", 1).replace(".jpg", ".png"))
    # The retry Lambda makes once S3 recovers skips what is done and finishes the rest.
    result = handlers.s3_handler(s3_put_event(bucket, [flaky, fine]), lambda_context())
    assert [r["status"] for r in result["records"]] == ["processed", "duplicate"]


def test_a_record_whose_object_is_gone_is_ignored(handlers, s3, bucket, photo):
    """The real path: with s3:ListBucket on the input prefix S3 answers a deleted key with 404."""
    key = unique("deleted.jpg")
    drop(s3, bucket, key, photo)
    s3.delete_object(Bucket=bucket, Key=key)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert (record["status"], record["detail"]) == ("ignored", "the object no longer exists")


@pytest.mark.parametrize("operations, code", [(("HeadObject",), "403"), (("GetObject",), "AccessDenied")])
def test_a_record_s3_denies_us_is_a_reported_error_never_ignored(
    handlers, embedded_s3, s3, bucket, photo, operations, code
):
    denied, fine = unique("denied.jpg"), unique("fine.jpg")
    drop(s3, bucket, denied, photo)
    drop(s3, bucket, fine, photo)
    store = ObjectStore(faulty_client(embedded_s3, denied, status=403, code=code, operations=operations))
    pipeline = S3Pipeline(handlers.settings, handlers.models, store)

    denied_outcome, fine_outcome = pipeline.handle_all(objects_in_notification(s3_put_event(bucket, [denied, fine])))

    assert (denied_outcome.status, denied_outcome.code) == ("failed", "storage_access_denied")
    assert fine_outcome.status == "processed"
    report = json.loads(read(s3, bucket, denied.replace("input/", "failed/", 1) + ".json"))
    assert report["error"]["code"] == "storage_access_denied" and "denied" in report["error"]["message"]
    assert report["source"]["key"] == denied
    assert not output_versions(s3, bucket, denied.replace("input/", "output/", 1).replace(".jpg", ".png"))


def test_sqs_batches_report_exactly_the_messages_to_retry(handlers, embedded_s3, s3, bucket, photo, monkeypatch):
    good, bad, flaky = unique("q-good.jpg"), unique("q-bad.jpg"), unique("q-flaky.jpg")
    drop(s3, bucket, good, photo)
    drop(s3, bucket, bad, b"not an image")
    drop(s3, bucket, flaky, photo)
    monkeypatch.setattr(handlers, "s3_pipeline", faulty_pipeline(handlers, embedded_s3, flaky))
    bodies = [json.dumps(s3_put_event(bucket, [key])) for key in (good, bad, flaky)] + ["not json"]

    response = handlers.sqs_handler(sqs_event(bodies), lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-2"}]}
    assert open_image(read(s3, bucket, good.replace("input/", "output/", 1).replace(".jpg", ".png"))).mode == "RGBA"
    assert json.loads(read(s3, bucket, bad.replace("input/", "failed/", 1) + ".json"))["error"]["code"]


def test_a_queue_batch_of_ten_with_three_throttled_returns_exactly_those_three(
    handlers, embedded_s3, s3, bucket, photo, monkeypatch
):
    """What IngestQueue=true delivers: ten messages; the throttled ones come back for a retry, and
    nothing that could never succeed (not an image, a malformed record) is retried."""
    good = [unique(f"ten-good-{i}.jpg") for i in range(4)]
    throttled = [unique(f"ten-throttled-{i}.jpg") for i in range(3)]
    not_an_image, redriven = unique("ten-notes.jpg"), unique("ten-redriven.jpg")
    for key in good + throttled + [redriven]:
        drop(s3, bucket, key, photo)
    drop(s3, bucket, not_an_image, b"a shopping list")
    malformed = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}}}]}
    notifications = [s3_put_event(bucket, [key]) for key in good[:2] + throttled[:1] + [not_an_image] + throttled[1:2]]
    notifications += [malformed, on_failure_record(s3_put_event(bucket, [redriven])), s3_put_event(bucket, [good[2]])]
    notifications += [s3_put_event(bucket, [throttled[2]]), s3_put_event(bucket, [good[3]])]
    monkeypatch.setattr(handlers, "s3_pipeline", faulty_pipeline(handlers, embedded_s3, *throttled))

    response = handlers.sqs_handler(sqs_event([json.dumps(n) for n in notifications]), lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": f"message-{i}"} for i in (2, 4, 8)]}
    for key in [*good, redriven]:
        assert_astronaut_cutout(open_image(read(s3, bucket, output_key(key))))
    assert json.loads(read(s3, bucket, not_an_image.replace("input/", "failed/", 1) + ".json"))["error"]["code"]
    for key in throttled:
        assert not output_versions(s3, bucket, output_key(key))


def test_a_redriven_failure_record_produces_its_output_directly_or_through_the_queue(handlers, s3, bucket, photo):
    direct, queued = unique("redrive-direct.jpg"), unique("redrive-queued.jpg")
    drop(s3, bucket, direct, photo)
    drop(s3, bucket, queued, photo)

    result = handlers.s3_handler(on_failure_record(s3_put_event(bucket, [direct])), lambda_context())
    response = handlers.sqs_handler(
        sqs_event([json.dumps(on_failure_record(s3_put_event(bucket, [queued])))]), lambda_context()
    )

    assert [r["status"] for r in result["records"]] == ["processed"] and response == {"batchItemFailures": []}
    for key in (direct, queued):
        assert_astronaut_cutout(open_image(read(s3, bucket, output_key(key))))


def test_a_direct_record_without_a_key_is_reported_with_a_code_beside_the_good_one(handlers, s3, bucket, photo):
    key = unique("beside-malformed.jpg")
    drop(s3, bucket, key, photo)
    event = s3_put_event(bucket, [key])
    event["Records"].append({"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {}}})

    result = handlers.s3_handler(event, lambda_context())

    assert (result["processed"], result["failed"]) == (1, 1)
    assert result["records"][1] == {
        "key": "Records[1]",
        "status": "failed",
        "output_key": None,
        "code": "event_malformed",
        "detail": "the record has no s3.object.key",
    }
    assert handlers.s3_handler({"Records": "x"}, lambda_context())["records"][0]["code"] == "event_malformed"


def test_a_queue_pointed_at_s3_handler_by_mistake_shows_up_as_malformed_records(handlers, s3, bucket, photo):
    key = unique("q-misrouted.jpg")
    drop(s3, bucket, key, photo)

    result = handlers.s3_handler(sqs_event([json.dumps(s3_put_event(bucket, [key]))]), lambda_context())

    assert [record["code"] for record in result["records"]] == ["event_malformed"]
    output = key.replace("input/", "output/", 1).replace(".jpg", ".png")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=output)["KeyCount"] == 0


def test_hostile_files_all_end_as_failure_reports_never_as_retries(handlers, s3, bucket):
    from tests.hostile_inputs import HOSTILE_INPUTS

    folder = unique("hostile/")
    cases = {folder + name: (payload, code) for name, payload, code in (make() for make in HOSTILE_INPUTS)}
    for key, (payload, _) in cases.items():
        drop(s3, bucket, key, payload)

    result = handlers.s3_handler(s3_put_event(bucket, list(cases)), lambda_context())

    assert result["failed"] == len(cases) and result["processed"] == 0
    for record in result["records"]:
        expected_code = cases[record["key"]][1]
        assert (record["status"], record["code"]) == ("failed", expected_code), record["key"]
        report = json.loads(read(s3, bucket, record["output_key"]))
        assert report["error"]["code"] == expected_code
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=folder.replace("input/", "output/", 1)).get("Contents")


def test_two_inputs_that_map_to_one_output_never_overwrite_each_other(handlers, s3, bucket, photo):
    folder = unique("")
    drop(s3, bucket, folder + "same.png", photo)
    drop(s3, bucket, folder + "same.jpg", jpeg_bytes(quality=60))

    first = handlers.s3_handler(s3_put_event(bucket, [folder + "same.png"]), lambda_context())["records"][0]
    second = handlers.s3_handler(s3_put_event(bucket, [folder + "same.jpg"]), lambda_context())["records"][0]

    assert first["status"] == "processed"
    assert (second["status"], second["code"]) == ("failed", "output_exists")
    out_key = first["output_key"]
    assert len(output_versions(s3, bucket, out_key)) == 1
    assert s3.head_object(Bucket=bucket, Key=out_key)["Metadata"]["source-key"].endswith("same.png")


def test_a_long_non_ascii_key_keeps_its_metadata_under_s3s_2_kb(handlers, s3, bucket, photo):
    folder = unique("")
    key = folder + "фото " * ((1000 - len(folder)) // 10) + ".jpg"
    drop(s3, bucket, key, photo)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    metadata = s3.head_object(Bucket=bucket, Key=record["output_key"])["Metadata"]
    assert record["status"] == "processed"
    assert sum(len(k) + len(v) for k, v in metadata.items()) < 2048
    assert metadata["source-key"].startswith("sha256:")
