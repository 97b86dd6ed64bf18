"""`sam local invoke` without Docker: run an entry point in-process on an event file.

    python -m local.invoke s3 events/s3-put.json
    python -m local.invoke batch events/batch-ops-v2.json
    python -m local.invoke http events/http-remove-bg-url.json --save-body cutout.png

Without AWS_ENDPOINT_URL_S3 set (and without --aws) it starts the embedded S3 and seeds it
the way the events expect: a sample photo at every key an S3 event names, and a presigned
URL of it in place of the URL events' placeholder. With --aws it uses whatever S3 boto3 is
configured for, and the event as it is.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

URL_PLACEHOLDER = "https://example.com/astronaut.jpg"
SAMPLE_KEY = "input/invoke-sample.jpg"
ENTRY_POINTS = {"http": "http_handler", "s3": "s3_handler", "sqs": "sqs_handler", "batch": "batch_handler"}
LONG_BODY = 2000  # characters; longer response bodies are summarised on stdout


def keys_named(kind: str, event: dict) -> list[str]:
    """The object keys an S3-side event names, read the way the function reads them."""
    from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent, SQSEvent

    from function.pipeline.records import (
        InputObject,
        is_sqs_event,
        objects_in_message,
        objects_in_notification,
        task_object,
    )

    if kind == "batch":
        objects = [task_object(task) for task in S3BatchOperationEvent(event).tasks]
    elif is_sqs_event(event):
        objects = [obj for record in SQSEvent(event).records for obj in objects_in_message(record)]
    else:
        objects = objects_in_notification(event)
    return [obj.key for obj in objects if isinstance(obj, InputObject)]


def seed(client, bucket: str, kind: str, event: dict) -> None:
    """Put what the event refers to into a local S3: the sample photo at every key it names."""
    from local.embedded_s3 import put_sample, sample_photo

    if kind != "http":
        photo = sample_photo()
        for key in keys_named(kind, event):
            client.put_object(Bucket=bucket, Key=key, Body=photo)
        return
    url = put_sample(client, bucket, SAMPLE_KEY)
    event["rawQueryString"] = event.get("rawQueryString", "").replace(
        quote(URL_PLACEHOLDER, safe=""), quote(url, safe="")
    )
    for name, value in (event.get("queryStringParameters") or {}).items():
        if value == URL_PLACEHOLDER:
            event["queryStringParameters"][name] = url


def printable(response: dict, save_body: Path | None) -> dict:
    body = response.get("body") if isinstance(response, dict) else None
    if body and save_body:
        save_body.write_bytes(base64.b64decode(body) if response.get("isBase64Encoded") else body.encode())
    if body and len(body) > LONG_BODY:
        return {**response, "body": f"<{len(body)} characters; use --save-body FILE>"}
    return response


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entry_point", choices=list(ENTRY_POINTS))
    parser.add_argument("event", type=Path)
    parser.add_argument("--aws", action="store_true", help="use the configured S3, do not start the embedded one")
    parser.add_argument("--save-body", type=Path, help="write the decoded HTTP response body here")
    args = parser.parse_args(argv)

    event = json.loads(args.event.read_text())
    if not args.aws and not os.environ.get("AWS_ENDPOINT_URL_S3"):
        from local.embedded_s3 import LOCAL_BUCKET, start_local_aws

        seed(start_local_aws().client(), LOCAL_BUCKET, args.entry_point, event)
    # As with `sam local invoke`: the function's logs and EMF metrics go to stderr, the result to stdout.
    with contextlib.redirect_stdout(sys.stderr):
        from function import handlers
        from local.events import LocalLambdaContext as lambda_context

        handler = getattr(handlers, ENTRY_POINTS[args.entry_point])
        response = handler(event, lambda_context())
    json.dump(printable(response, args.save_body), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
