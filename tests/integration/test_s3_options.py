"""A user drops photos with options in their metadata (`aws s3 cp … --metadata format=webp`) and
phone photos (HEIC, AVIF) under input/, and finds what they asked for under output/."""

from __future__ import annotations

import json

import numpy as np
import pytest

from function.bucket.storage import ObjectStore
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import objects_in_notification
from function.settings import Settings
from tests.integration.test_s3_pipeline import drop, output_versions, read, unique
from tests.support import assert_astronaut_cutout, lambda_context, open_image, phone_photo, s3_put_event


def drop_with(s3, bucket, key, body, **metadata) -> str:
    """What `aws s3 cp FILE s3://BUCKET/KEY --metadata k=v,…` does."""
    return s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)["ETag"].strip('"')


def handle(handlers, bucket, key) -> dict:
    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]
    return record


def test_format_webp_in_the_metadata_gives_a_webp_under_the_output_prefix(handlers, s3, bucket, photo):
    key = unique("holiday.jpg")
    drop_with(s3, bucket, key, photo, format="webp")

    record = handle(handlers, bucket, key)

    assert record["status"] == "processed"
    assert record["output_key"] == key.replace("input/", "output/", 1).replace(".jpg", ".webp")
    obj = s3.get_object(Bucket=bucket, Key=record["output_key"])
    assert obj["ContentType"] == "image/webp" and obj["Metadata"]["options"] == "format%3Dwebp"
    image = open_image(obj["Body"].read())
    assert image.format == "WEBP"
    assert_astronaut_cutout(image)


def test_an_invalid_option_is_a_failure_report_naming_it(handlers, s3, bucket, photo):
    key = unique("wrong.jpg")
    etag = drop_with(s3, bucket, key, photo, format="gif")

    record = handle(handlers, bucket, key)

    assert (record["status"], record["code"]) == ("failed", "invalid_format")
    report = json.loads(read(s3, bucket, key.replace("input/", "failed/", 1) + ".json"))
    assert report["error"]["code"] == "invalid_format"
    assert "format" in report["error"]["message"] and "'gif'" in report["error"]["message"]
    assert report["source"]["etag"] == etag
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=key.replace("input/", "output/", 1).rsplit(".", 1)[0]).get(
        "Contents"
    )


@pytest.mark.parametrize(
    "metadata, code",
    [
        ({"bgcolor": "red"}, "invalid_bgcolor"),
        ({"crop-margin": "lots"}, "invalid_crop_margin"),
        ({"scale": "3"}, "invalid_option"),
        ({"only_mask": "maybe"}, "invalid_option"),
        ({"model": "u2net-huge"}, "model_not_available"),
    ],
)
def test_every_option_is_validated_as_the_api_validates_it(handlers, s3, bucket, photo, metadata, code):
    key = unique("options.jpg")
    drop_with(s3, bucket, key, photo, **metadata)

    record = handle(handlers, bucket, key)

    assert (record["status"], record["code"]) == ("failed", code)
    name = next(iter(metadata)).replace("-", "_")
    assert name in json.loads(read(s3, bucket, record["output_key"]))["error"]["message"]


def test_options_are_applied_and_names_may_use_dashes(handlers, s3, bucket, photo):
    key = unique("flat.jpg")
    drop_with(s3, bucket, key, photo, bgcolor="ff0000", crop="true", **{"only-mask": "false", "x-unrelated": "kept"})

    record = handle(handlers, bucket, key)

    image = open_image(read(s3, bucket, record["output_key"]))
    assert record["output_key"].endswith("/flat.png")
    assert image.mode == "RGB" and image.size[1] < 512, "flattened onto red and cropped to the subject"
    assert tuple(np.asarray(image)[0, 0]) == (255, 0, 0)


def test_the_same_bytes_again_with_other_options_are_new_work(handlers, s3, bucket, photo):
    key = unique("again.jpg")
    drop_with(s3, bucket, key, photo)
    first = handle(handlers, bucket, key)
    drop_with(s3, bucket, key, photo, bgcolor="00ff00")  # same bytes, so the same ETag

    second = handle(handlers, bucket, key)
    repeated = handle(handlers, bucket, key)

    assert [first["status"], second["status"], repeated["status"]] == ["processed", "processed", "duplicate"]
    assert len(output_versions(s3, bucket, second["output_key"])) == 2
    assert open_image(read(s3, bucket, second["output_key"])).mode == "RGB"


def test_two_inputs_that_map_to_one_webp_never_overwrite_each_other(handlers, s3, bucket, photo):
    folder = unique("")
    drop_with(s3, bucket, folder + "same.png", photo, format="webp")
    drop_with(s3, bucket, folder + "same.jpg", photo, format="webp")

    first = handle(handlers, bucket, folder + "same.png")
    second = handle(handlers, bucket, folder + "same.jpg")

    assert first["status"] == "processed" and first["output_key"].endswith("same.webp")
    assert (second["status"], second["code"]) == ("failed", "output_exists")
    assert len(output_versions(s3, bucket, first["output_key"])) == 1


def test_alpha_matting_on_s3_has_the_same_size_cap_as_the_api(handlers, s3, bucket, photo):
    pipeline = S3Pipeline(
        Settings(model_name="u2netp", alpha_matting_max_megapixels=0.1), handlers.models, ObjectStore(s3)
    )
    key = unique("matted.jpg")
    drop_with(s3, bucket, key, photo, alpha_matting="true")

    (outcome,) = pipeline.handle_all(objects_in_notification(s3_put_event(bucket, [key])))

    assert (outcome.status, outcome.code) == ("failed", "alpha_matting_too_large")
    assert "scale=" in json.loads(read(s3, bucket, outcome.output_key))["error"]["message"]


def test_alpha_matting_on_s3_has_the_same_trimap_limit_as_the_api(handlers, s3, bucket, photo):
    key = unique("matted-wide.jpg")
    drop_with(
        s3,
        bucket,
        key,
        photo,
        alpha_matting="true",
        alpha_matting_foreground_threshold="250",
        alpha_matting_background_threshold="5",
        alpha_matting_erode_size="40",
    )

    record = handle(handlers, bucket, key)

    assert (record["status"], record["code"]) == ("failed", "alpha_matting_too_large")


@pytest.mark.parametrize("fmt, name", [("HEIF", "IMG_0001.HEIC"), ("AVIF", "photo.avif")])
def test_phone_photos_come_out_upright_and_cut_out(handlers, s3, bucket, fmt, name):
    key = unique(name)
    drop(s3, bucket, key, phone_photo(fmt))

    record = handle(handlers, bucket, key)

    assert record["status"] == "processed", record
    assert record["output_key"].endswith(name.rsplit(".", 1)[0] + ".png")
    assert_astronaut_cutout(open_image(read(s3, bucket, record["output_key"])))
