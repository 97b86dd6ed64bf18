"""A user backfills a bucket of existing photos with S3 Batch Operations: every task gets the right
result code, and a good task's output is the one a notification would have produced."""

from __future__ import annotations

import json
import uuid

import pytest

from local.events import batch_operations_event
from tests.support import assert_astronaut_cutout, faulty_pipeline, lambda_context, open_image, s3_put_event

SCHEMAS = ["1.0", "2.0"]


def existing(s3, bucket, name: str, body: bytes) -> str:
    key = f"input/backfill-{uuid.uuid4().hex[:8]}/{name}"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def run_task(handlers, bucket: str, key: str, schema: str) -> dict:
    event = batch_operations_event(bucket, key, schema)
    response = handlers.batch_handler(event, lambda_context())
    assert response["invocationSchemaVersion"] == schema and response["invocationId"] == event["invocationId"]
    (result,) = response["results"]
    assert result["taskId"] == event["tasks"][0]["taskId"]
    return result


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_good_task_succeeds_with_the_output_a_notification_would_have_written(handlers, s3, bucket, photo, schema):
    key = existing(s3, bucket, "holiday photos/café 1+2 100%.jpg", photo)
    twin = existing(s3, bucket, "twin.jpg", photo)

    result = run_task(handlers, bucket, key, schema)
    (notified,) = handlers.s3_handler(s3_put_event(bucket, [twin]), lambda_context())["records"]

    out_key = key.replace("input/", "output/", 1).replace(".jpg", ".png")
    assert result == {"taskId": result["taskId"], "resultCode": "Succeeded", "resultString": out_key}
    ours, theirs = (s3.get_object(Bucket=bucket, Key=k) for k in (out_key, notified["output_key"]))
    body = ours["Body"].read()
    assert body == theirs["Body"].read()
    assert_astronaut_cutout(open_image(body))

    def made_the_same_way(metadata: dict) -> dict:  # all but which object (and version) it came from
        return {k: v for k, v in metadata.items() if k not in ("source-key", "source-version")}

    assert made_the_same_way(ours["Metadata"]) == made_the_same_way(theirs["Metadata"])
    # The notification path sees the backfill's output as its own.
    (again,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]
    assert (again["status"], again["output_key"]) == ("duplicate", out_key)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_task_whose_output_exists_succeeds_as_a_duplicate(handlers, s3, bucket, photo, schema):
    key = existing(s3, bucket, "done-already.jpg", photo)
    handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())

    result = run_task(handlers, bucket, key, schema)

    out_key = key.replace("input/", "output/", 1).replace(".jpg", ".png")
    assert (result["resultCode"], result["resultString"]) == ("Succeeded", f"duplicate {out_key}")
    versions = s3.list_object_versions(Bucket=bucket, Prefix=out_key).get("Versions", [])
    assert len([v for v in versions if v["Key"] == out_key]) == 1


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("body, code", [(b"a shopping list", "unsupported_media_type"), (b"", "image_empty")])
def test_a_bad_file_fails_permanently_with_our_code_and_a_failure_report(handlers, s3, bucket, schema, body, code):
    key = existing(s3, bucket, "notes.jpg", body)

    result = run_task(handlers, bucket, key, schema)

    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"].startswith(f"{code}: ")
    report = key.replace("input/", "failed/", 1) + ".json"
    assert s3.head_object(Bucket=bucket, Key=report)["ContentType"] == "application/json"


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_throttled_task_fails_temporarily_so_batch_operations_retries_it(
    handlers, embedded_s3, s3, bucket, photo, schema, monkeypatch
):
    key = existing(s3, bucket, "throttled.jpg", photo)
    monkeypatch.setattr(handlers, "s3_pipeline", faulty_pipeline(handlers, embedded_s3, key))

    result = run_task(handlers, bucket, key, schema)

    assert result["resultCode"] == "TemporaryFailure"
    assert result["resultString"] == f"transient: {key}: StorageUnavailable"
    monkeypatch.undo()  # S3 recovers: Batch Operations' retry succeeds
    assert run_task(handlers, bucket, key, schema)["resultCode"] == "Succeeded"


@pytest.mark.parametrize("schema", SCHEMAS)
def test_objects_it_does_not_process_fail_permanently_with_the_reason(handlers, s3, bucket, photo, schema):
    s3.put_object(Bucket=bucket, Key="elsewhere/photo.jpg", Body=photo)
    gone = f"input/backfill-{uuid.uuid4().hex[:8]}/deleted-since.jpg"

    outside, deleted = (run_task(handlers, bucket, key, schema) for key in ("elsewhere/photo.jpg", gone))

    assert (outside["resultCode"], outside["resultString"]) == (
        "PermanentFailure",
        "ignored: outside the input prefix input/",
    )
    assert (deleted["resultCode"], deleted["resultString"]) == (
        "PermanentFailure",
        "ignored: the object no longer exists",
    )


def test_a_task_without_a_key_fails_permanently_as_malformed(handlers, bucket):
    event = batch_operations_event(bucket, "input/x.jpg", "2.0")
    del event["tasks"][0]["s3Key"]

    (result,) = handlers.batch_handler(event, lambda_context())["results"]

    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"] == "event_malformed: the task has no s3Key and bucket"


# --------------------------------------------------------------------------- starting a backfill job

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:rembg-BackfillFunction-abc123"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/rembg-BatchOperationsRole-abc123"
STACK_BUCKET = f"rembg-{ACCOUNT}-eu-west-1-1a2b3c4d"


def stubbed(service: str, region: str = "eu-west-1"):
    """A real botocore client whose calls are checked against the service's own model and answered by a
    Stubber: moto has no s3control jobs (and CreateJob would start real work)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.session.Session().client(
        service, region_name=region, aws_access_key_id="k", aws_secret_access_key="s"
    )
    return client, Stubber(client)


def deployed_stack(report_prefix: str = "batch-reports/") -> tuple:
    cloudformation, stub = stubbed("cloudformation")
    params = {
        "InputPrefix": "input/",
        "OutputPrefix": "output/",
        "FailedPrefix": "failed/",
        "BatchReportPrefix": report_prefix,
        "IngestQueue": "false",
    }
    outputs = {"BucketName": STACK_BUCKET, "BackfillFunctionArn": FUNCTION_ARN, "BatchOperationsRoleArn": ROLE_ARN}
    stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "rembg",
                    "CreationTime": "2026-11-25T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": "rembg"},
    )
    stub.activate()
    return cloudformation, stub


def backfill(argv: list[str], cloudformation, s3control=None) -> tuple[int, str]:
    import io

    from local.backfill import main

    out = io.StringIO()
    code = main(argv, cloudformation, lambda region: s3control, out)
    return code, out.getvalue()


def test_backfill_starts_one_job_over_the_prefix_with_s3s_own_object_list_and_says_where_the_report_goes():
    from botocore.stub import ANY

    cloudformation, stack_stub = deployed_stack()
    s3control, stub = stubbed("s3control")
    bucket_arn = f"arn:aws:s3:::{STACK_BUCKET}"
    stub.add_response(
        "create_job",
        {"JobId": "0f2b7c8e-1d3a-4b5c-9e6f-7a8b9c0d1e2f"},
        {
            "AccountId": ACCOUNT,
            "ConfirmationRequired": False,
            "Operation": {"LambdaInvoke": {"FunctionArn": FUNCTION_ARN, "InvocationSchemaVersion": "2.0"}},
            "ManifestGenerator": {
                "S3JobManifestGenerator": {
                    "ExpectedBucketOwner": ACCOUNT,
                    "SourceBucket": bucket_arn,
                    "Filter": {"KeyNameConstraint": {"MatchAnyPrefix": ["input/2024/"]}},
                    "EnableManifestOutput": True,
                    "ManifestOutputLocation": {
                        "ExpectedManifestBucketOwner": ACCOUNT,
                        "Bucket": bucket_arn,
                        "ManifestPrefix": "batch-reports/manifests",
                        "ManifestEncryption": {"SSES3": {}},
                        "ManifestFormat": "S3InventoryReport_CSV_20211130",
                    },
                }
            },
            "Report": {
                "Bucket": bucket_arn,
                "Prefix": "batch-reports",
                "Format": "Report_CSV_20180820",
                "Enabled": True,
                "ReportScope": "AllTasks",
            },
            "Priority": 10,
            "RoleArn": ROLE_ARN,
            "ClientRequestToken": ANY,
            "Description": f"rembg backfill of s3://{STACK_BUCKET}/input/2024/",
        },
    )

    with stub:
        code, printed = backfill(["--prefix", "input/2024/"], cloudformation, s3control)

    assert code == 0
    stub.assert_no_pending_responses()
    stack_stub.assert_no_pending_responses()
    assert (
        f"completion report: s3://{STACK_BUCKET}/batch-reports/job-0f2b7c8e-1d3a-4b5c-9e6f-7a8b9c0d1e2f/"
        in printed.splitlines()
    )
    # The role the template gives Batch Operations may write exactly there (tests/unit/test_template.py).


def test_a_dry_run_prints_the_request_and_creates_nothing():
    cloudformation, _ = deployed_stack()
    s3control, stub = stubbed("s3control")  # no response queued: any call would fail the test

    with stub:
        code, printed = backfill(["--prefix", "input/2024/", "--dry-run"], cloudformation, s3control)

    assert code == 0
    request = json.loads(printed[: printed.rindex("}") + 1])
    assert request["ManifestGenerator"]["S3JobManifestGenerator"]["Filter"]["KeyNameConstraint"] == {
        "MatchAnyPrefix": ["input/2024/"]
    }
    assert printed.splitlines()[-1] == (
        f"dry run: no job created; its report would be at s3://{STACK_BUCKET}/batch-reports/job-<job id>/"
    )


@pytest.mark.parametrize(
    "argv, report_prefix, complaint",
    [
        (["--prefix", "output/2024/"], "batch-reports/", "--prefix must lie under the input prefix"),
        (["--prefix", "input/"], "input/reports/", "BATCH_REPORT_PREFIX"),
    ],
)
def test_a_backfill_outside_the_input_prefix_or_into_it_is_refused(argv, report_prefix, complaint, capsys):
    cloudformation, _ = deployed_stack(report_prefix)

    code, printed = backfill(argv, cloudformation)

    assert (code, printed) == (2, "")
    assert complaint in capsys.readouterr().err
