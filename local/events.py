"""Events in the shapes AWS sends, for the local S3 trigger, the offline invoker and the tests."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus, urlencode


def s3_object_created(bucket: str, key: str, etag: str = "", size: int = 0, region: str = "us-east-1") -> dict:
    """One ObjectCreated:Put record; the key URL-encoded as S3 encodes it ('+' for space)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "LOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "input-created",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0"},
        },
    }


def s3_notification(bucket: str, keys: list[str], etag: str = "", size: int = 0) -> dict:
    return {"Records": [s3_object_created(bucket, key, etag, size) for key in keys]}


def on_failure_record(event: dict, error_type: str = "TransientFailure", message: str = "") -> dict:
    """What Lambda sends the on-failure destination once an async event has used up its retries."""
    request_id = str(uuid.uuid4())
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:rembg-local:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": [],
        },
    }


def batch_operations_event(bucket: str, key: str, schema: str = "2.0") -> dict:
    """One S3 Batch Operations task (it sends one per invocation), the key URL-encoded as it sends it.
    Schema 1.0 names the bucket by ARN, 2.0 by name."""
    task = {"taskId": uuid.uuid4().hex, "s3Key": quote(key), "s3VersionId": None}
    task.update({"s3BucketArn": f"arn:aws:s3:::{bucket}"} if schema == "1.0" else {"s3Bucket": bucket})
    job = {"id": str(uuid.uuid4())} if schema == "1.0" else {"id": str(uuid.uuid4()), "userArguments": {}}
    return {"invocationSchemaVersion": schema, "invocationId": uuid.uuid4().hex, "job": job, "tasks": [task]}


def http_api_event(
    method: str = "POST",
    path: str = "/remove-bg",
    query: dict | None = None,
    body: bytes | str | None = None,
    headers: dict | None = None,
    authorizer: dict | None = None,
) -> dict:
    """An API Gateway HTTP API (payload format 2.0) event, as API Gateway sends it; `authorizer` is what
    its authorizer put in requestContext (None: no authorizer vouched for the caller)."""
    query = {k: v for k, v in (query or {}).items() if v is not None}
    is_binary = isinstance(body, bytes)
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_binary,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if is_binary else body
    return event


@dataclass
class LocalLambdaContext:
    """The context object Lambda passes a handler, as `sam local invoke` fills it in."""

    function_name: str = "rembg-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 3008
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/rembg-local"
    log_stream_name: str = "local"
    timeout_ms: int = 29_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
