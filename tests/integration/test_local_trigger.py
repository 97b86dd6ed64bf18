"""`make run` emulates the S3 trigger: a photo put under input/ is processed as S3 would make Lambda do."""

from __future__ import annotations

import uuid

from local.s3_trigger import InputPrefixPoller
from tests.support import assert_astronaut_cutout, open_image


def test_new_uploads_are_handed_to_s3_handler_once(handlers, s3, bucket, photo):
    folder = f"input/trigger-{uuid.uuid4().hex[:8]}/"
    poller = InputPrefixPoller(s3, bucket, folder, handlers.s3_handler)
    s3.put_object(Bucket=bucket, Key=folder + "dropped photo.jpg", Body=photo)

    first = poller.poll_once()
    second = poller.poll_once()

    assert [r["records"][0]["status"] for r in first] == ["processed"]
    assert second == []
    out_key = folder.replace("input/", "output/", 1) + "dropped photo.png"
    assert_astronaut_cutout(open_image(s3.get_object(Bucket=bucket, Key=out_key)["Body"].read()))
