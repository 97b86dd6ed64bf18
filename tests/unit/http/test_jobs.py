"""Jobs with a bucket in memory: a job is its upload's key, and its state is read from the objects
the pipeline leaves beside it (tests/integration/test_uploads.py runs it on moto and u2netp)."""

from __future__ import annotations

import pytest

from function.errors import JobNotFound, StorageNotConfigured
from function.http.auth import AuthMode, Caller
from function.http.jobs import Jobs
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import InputObject
from tests.unit.standins import BUCKET, MemoryStore, StandInModels, photo_bytes, settings

ANYONE = Caller(AuthMode.NONE, "anonymous")
ALICE = Caller(AuthMode.JWT, "alice", "alice/")
BOB = Caller(AuthMode.JWT, "bob", "bob/")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def jobs(store) -> Jobs:
    return Jobs(settings(presigned_url_ttl=900), store)


def post_the_file(store: MemoryStore, ticket: dict, body: bytes) -> None:
    """What the browser's form POST leaves in the bucket: the key and metadata the policy pinned."""
    fields = ticket["upload"]["fields"]
    metadata = {name.removeprefix("x-amz-meta-"): v for name, v in fields.items() if name.startswith("x-amz-meta-")}
    store.upload(BUCKET, fields["key"], body, metadata)


def the_pipeline_runs(store: MemoryStore, ticket: dict) -> None:
    S3Pipeline(settings(), StandInModels(), store).handle(InputObject(BUCKET, ticket["upload"]["fields"]["key"]))


def test_a_new_job_is_a_presigned_post_of_one_key_carrying_the_options(jobs):
    ticket = jobs.create(ANYONE, {"format": "webp", "bgcolor": "ffffff", "crop": ""}, "image/jpeg")

    assert len(ticket["id"]) == 32 and ticket["expires_in"] == 900
    assert ticket["upload"]["fields"] == {
        "key": f"input/uploads/{ticket['id']}",
        "x-amz-meta-format": "webp",
        "x-amz-meta-bgcolor": "ffffff",
        "Content-Type": "image/jpeg",
    }


def test_a_job_is_pending_until_the_pipeline_has_cut_it_out_then_done_with_a_link(store, jobs):
    ticket = jobs.create(ANYONE, {"format": "webp"}, None)
    post_the_file(store, ticket, photo_bytes())
    assert jobs.status(ANYONE, ticket["id"])["status"] == "pending"

    the_pipeline_runs(store, ticket)

    job = jobs.status(ANYONE, ticket["id"])
    key = f"output/uploads/{ticket['id']}.webp"
    assert job == {
        "id": ticket["id"],
        "status": "done",
        "result": {
            "url": f"https://{BUCKET}.s3.example/{key}?expires=900",
            "key": key,
            "width": 64,
            "height": 48,
            "format": "webp",
        },
        "error": None,
    }


def test_a_job_for_a_file_that_is_no_picture_ends_failed_with_the_reports_error(store, jobs):
    ticket = jobs.create(ANYONE, {}, None)
    post_the_file(store, ticket, b"%PDF-1.7 a document")

    the_pipeline_runs(store, ticket)

    job = jobs.status(ANYONE, ticket["id"])
    assert (job["status"], job["result"], job["error"]["code"]) == ("failed", None, "unsupported_media_type")


def test_a_file_posted_again_under_the_same_job_is_pending_until_it_is_cut_out(store, jobs):
    ticket = jobs.create(ANYONE, {}, None)
    post_the_file(store, ticket, photo_bytes())
    the_pipeline_runs(store, ticket)
    post_the_file(store, ticket, photo_bytes(size=(40, 30)))  # the policy allows it until it expires

    assert jobs.status(ANYONE, ticket["id"])["status"] == "pending"  # the output is the old file's
    the_pipeline_runs(store, ticket)
    assert jobs.status(ANYONE, ticket["id"])["result"]["width"] == 40


def test_a_jwt_callers_job_lives_in_its_folder_and_is_nobody_elses(store, jobs):
    ticket = jobs.create(ALICE, {}, None)
    post_the_file(store, ticket, photo_bytes())

    assert ticket["upload"]["fields"]["key"] == f"input/alice/uploads/{ticket['id']}"
    assert jobs.status(ALICE, ticket["id"])["status"] == "pending"
    for stranger in (BOB, ANYONE):
        with pytest.raises(JobNotFound):
            jobs.status(stranger, ticket["id"])


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "../../output/cat", "A" * 32])
def test_an_unknown_or_malformed_job_id_is_a_404(jobs, job_id):
    with pytest.raises(JobNotFound) as refused:
        jobs.status(ANYONE, job_id)

    assert refused.value.status == 404 and refused.value.code == "job_not_found"


def test_without_a_bucket_there_are_no_jobs(store):
    jobs = Jobs(settings(aws_bucket_name=None), store)

    with pytest.raises(StorageNotConfigured):
        jobs.create(ANYONE, {}, None)
    with pytest.raises(StorageNotConfigured):
        jobs.status(ANYONE, "0" * 32)
