"""Backfill a deployed stack: cut out every object already under a prefix, with S3 Batch Operations.

    python -m local.backfill --prefix input/2024/ [--dry-run] [--stack rembg]
    python -m local.backfill --local --dry-run      # the request for `make run`'s layout, no AWS needed

It reads the stack (bucket, prefixes, BackfillFunction, the role Batch Operations assumes) and creates
one job whose object list S3 generates itself from the prefix (a manifest generator: no listing here).
Batch Operations then invokes BackfillFunction once per object, retries what it answers
TemporaryFailure, and writes a completion report (one row per object, with our result string) under
BatchReportPrefix; this prints where. --dry-run prints the request and creates nothing.
Needs credentials allowed s3:CreateJob, iam:PassRole on the role, and cloudformation:DescribeStacks;
a missing region, credentials or stack is one line naming what to set.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from pydantic import ValidationError

from function.settings import Settings, SettingsError, load_settings

DEFAULT_STACK = "rembg"  # samconfig.toml's stack_name


@dataclass(frozen=True)
class Stack:
    bucket: str
    function_arn: str
    role_arn: str
    settings: Settings  # the stack's prefixes, validated by the same rules as a cold start

    @property
    def region(self) -> str:
        return self.function_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.function_arn.split(":")[4]

    @property
    def bucket_arn(self) -> str:
        partition = self.function_arn.split(":")[1]
        return f"arn:{partition}:s3:::{self.bucket}"

    @property
    def report_prefix(self) -> str:
        """As Batch Operations takes it: it adds the "/" before job-<id>/ itself."""
        return self.settings.batch_report_prefix.rstrip("/")


def read_stack(cloudformation, name: str) -> Stack:
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    settings = Settings(
        aws_bucket_name=outputs["BucketName"],
        input_prefix=params["InputPrefix"],
        output_prefix=params["OutputPrefix"],
        failed_prefix=params["FailedPrefix"],
        batch_report_prefix=params["BatchReportPrefix"],
    )
    return Stack(outputs["BucketName"], outputs["BackfillFunctionArn"], outputs["BatchOperationsRoleArn"], settings)


# What a local stack stands on: `make run`'s bucket, and placeholders for what only AWS has.
LOCAL_ACCOUNT = "000000000000"


def local_stack() -> Stack:
    """`make run`'s layout (the prefixes from the environment, as the function reads them): for --dry-run."""
    from local.embedded_s3 import LOCAL_BUCKET

    settings = load_settings(aws_bucket_name=LOCAL_BUCKET)
    function = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:local-backfill"
    return Stack(LOCAL_BUCKET, function, f"arn:aws:iam::{LOCAL_ACCOUNT}:role/local-batch-operations", settings)


def aws_problem(error: Exception, stack: str) -> str:
    """One line for what stops a call to AWS before any job: no region, no credentials, no stack."""
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_DEFAULT_REGION (or a profile's region) to the stack's region"
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(error, ClientError):
        return (
            f"cannot read the stack {stack!r}: {error.response.get('Error', {}).get('Message', error)} (--stack NAME)"
        )
    return f"cannot reach AWS: {error}"


def job_request(stack: Stack, prefix: str, token: str) -> dict:
    """The s3control CreateJob request: every object under `prefix`, listed by S3, sent to BackfillFunction."""
    return {
        "AccountId": stack.account,
        "ConfirmationRequired": False,
        "Operation": {"LambdaInvoke": {"FunctionArn": stack.function_arn, "InvocationSchemaVersion": "2.0"}},
        "ManifestGenerator": {
            "S3JobManifestGenerator": {
                "ExpectedBucketOwner": stack.account,
                "SourceBucket": stack.bucket_arn,
                "Filter": {"KeyNameConstraint": {"MatchAnyPrefix": [prefix]}},
                # The generated object list is kept beside the report: what exactly the job covered.
                "EnableManifestOutput": True,
                "ManifestOutputLocation": {
                    "ExpectedManifestBucketOwner": stack.account,
                    "Bucket": stack.bucket_arn,
                    "ManifestPrefix": f"{stack.report_prefix}/manifests",
                    "ManifestEncryption": {"SSES3": {}},
                    "ManifestFormat": "S3InventoryReport_CSV_20211130",
                },
            }
        },
        "Report": {
            "Bucket": stack.bucket_arn,
            "Prefix": stack.report_prefix,
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "ReportScope": "AllTasks",
        },
        "Priority": 10,
        "RoleArn": stack.role_arn,
        "ClientRequestToken": token,
        "Description": f"rembg backfill of s3://{stack.bucket}/{prefix}"[:256],
    }


def report_location(stack: Stack, job_id: str) -> str:
    """Where Batch Operations writes the completion report (manifest.json and results/*.csv)."""
    return f"s3://{stack.bucket}/{stack.report_prefix}/job-{job_id}/"


def main(argv: list[str] | None = None, cloudformation=None, s3control_in=None, out=sys.stdout) -> int:
    """`cloudformation` and `s3control_in(region)` are boto3's unless a test passes stubbed clients."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="key prefix to backfill, under the input prefix (default: all of it)")
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack's name (default {DEFAULT_STACK})")
    parser.add_argument("--dry-run", action="store_true", help="print the job request; create nothing")
    parser.add_argument("--local", action="store_true", help="`make run`'s layout instead of a deployed stack")
    args = parser.parse_args(argv)
    if args.local and not args.dry_run:
        parser.error("--local needs --dry-run: locally, `python -m local.invoke` processes objects instead")
    try:
        if cloudformation is None and not args.local:
            import boto3

            cloudformation = boto3.client("cloudformation")  # a region is needed here already
            s3control_in = lambda region: boto3.client("s3control", region_name=region)  # noqa: E731
        stack = local_stack() if args.local else read_stack(cloudformation, args.stack)
    except (SettingsError, ValidationError) as error:
        print(f"the stack's prefixes are not usable: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"backfill: {aws_problem(error, args.stack)}", file=sys.stderr)
        return 2
    prefix = args.prefix or stack.settings.input_prefix
    if not prefix.startswith(stack.settings.input_prefix):
        print(
            f"--prefix must lie under the input prefix {stack.settings.input_prefix!r}: the backfill function "
            "processes nothing else",
            file=sys.stderr,
        )
        return 2
    request = job_request(stack, prefix, str(uuid.uuid4()))
    if args.dry_run:
        print(json.dumps(request, indent=2), file=out)
        print(f"dry run: no job created; its report would be at {report_location(stack, '<job id>')}", file=out)
        return 0
    try:
        job_id = s3control_in(stack.region).create_job(**request)["JobId"]
    except (BotoCoreError, ClientError) as error:
        print(f"backfill: {aws_problem(error, args.stack)}", file=sys.stderr)
        return 2
    print(f"job {job_id}: every object under s3://{stack.bucket}/{prefix} -> {stack.function_arn}", file=out)
    print(f"completion report: {report_location(stack, job_id)}", file=out)
    print(
        f"progress: aws s3control describe-job --account-id {stack.account} --job-id {job_id} --region {stack.region}",
        file=out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
