"""`make smoke`: one command that proves a stack end to end, deployed or local.

    STACK=<name> make smoke              a deployed stack: its outputs name the API, bucket and auth mode
    API=<url> BUCKET=<name> make smoke   the same, named directly (AUTH=iam|jwt|none; TOKEN=… for jwt)
    make smoke                           the local `make run` on PORT / LOCAL_S3_PORT

Each check prints one line starting with `ok`, `FAIL` or `skip`, with its time; the exit status is 1
when any check failed. Everything the smoke writes to the bucket is deleted before it exits. IAM
mode signs every API request with botocore's SigV4 signer, using the caller's AWS credentials; the
bucket is used with those credentials too. In JWT mode OTHER_TOKEN (a second user's token) lets it
check that one caller cannot reach another's job. ORIGIN (else the stack's FrontendUrl, or
FRONTEND_URL locally) is the origin whose CORS preflight it checks. SMOKE_TIMEOUT (seconds, 180)
bounds each wait for the S3 pipeline.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import requests

PHOTO = Path(__file__).with_name("smoke-photo.jpg")  # see local/smoke_photo.py (public domain)
NOT_A_PHOTO = b"This is a text file with a .jpg name: the pipeline must report it under the failed prefix.\n"
AUTH_MODES = {"AWS_IAM": "iam", "JWT": "jwt", "NONE": "none", "iam": "iam", "jwt": "jwt", "none": "none"}
REQUEST_TIMEOUT = 60  # one synchronous request: Lambda's cold start and a model run fit well within


class Failed(Exception):
    """A check's finding: printed on its FAIL line."""


class Skipped(Exception):
    """Why a check cannot run against this stack: printed on its skip line."""


@dataclass
class Stack:
    """What the smoke checks: the API, its bucket and how to reach both."""

    description: str
    api: str
    auth: str | None  # None: take what /health says
    bucket: str | None
    s3: Callable[[], object] | None  # a boto3 S3 client, made on first use
    region: str | None = None
    input_prefix: str = "input/"
    output_prefix: str = "output/"
    failed_prefix: str = "failed/"
    token: str | None = None
    other_token: str | None = None
    origin: str | None = None
    credentials: object | None = None  # botocore credentials, to sign IAM requests


def reason_of(error: Exception) -> str:
    """A network error in one line: what the OS said, not urllib3's nesting of it."""
    text = str(error)
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(r"(Read timed out|timed out)", text)
    return found.group(1).strip() if found else f"{type(error).__name__}: {text[:200]}"


def api_region(api: str) -> str | None:
    """`https://<id>.execute-api.<region>.amazonaws.com/` -> region."""
    found = re.fullmatch(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?", urlsplit(api).hostname or "")
    return found.group(1) if found else None


def aws_s3_client(session, region: str | None):
    from function.bucket.storage import client_config  # regional, virtual-hosted presigned URLs, as the function's

    return session.client("s3", region_name=region, config=client_config())


def aws_session():
    """boto3's session, in AWS_REGION when set (the AWS CLI reads it; boto3 only AWS_DEFAULT_REGION)."""
    import boto3

    return boto3.Session(region_name=os.environ.get("AWS_REGION") or None)


def stack_from_cloudformation(name: str) -> Stack:
    session = aws_session()
    region = session.region_name
    if not region:
        raise Failed("no AWS region: set AWS_REGION (or a profile's region) to the stack's region")
    try:
        described = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except Exception as error:  # any of botocore's errors ends the run with its message
        raise Failed(f"cannot read stack {name!r} in {region}: {error}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in described.get("Parameters", [])}
    missing = [key for key in ("ApiUrl", "BucketName") if key not in outputs]
    if missing:
        raise Failed(f"stack {name!r} ({described['StackStatus']}) has no output {', '.join(missing)}")
    auth = outputs.get("ApiAuthMode") or parameters.get("ApiAuth") or "AWS_IAM"
    return Stack(
        description=f"stack {name} in {region} ({described['StackStatus']})",
        api=outputs["ApiUrl"],
        auth=AUTH_MODES.get(auth, auth),
        bucket=outputs["BucketName"],
        s3=lambda: aws_s3_client(session, region),
        region=region,
        input_prefix=parameters.get("InputPrefix") or "input/",
        output_prefix=parameters.get("OutputPrefix") or "output/",
        failed_prefix=parameters.get("FailedPrefix") or "failed/",
        origin=(outputs.get("CorsOrigins") or "").split(",")[0].strip() or None,
        credentials=session.get_credentials(),
    )


def stack_named_directly(api: str, bucket: str | None, auth: str | None) -> Stack:
    session = aws_session()
    region = api_region(api) or session.region_name
    return Stack(
        description=f"API {api}" + (f", bucket {bucket}" if bucket else ", no BUCKET given"),
        api=api,
        auth=AUTH_MODES.get(auth, auth) if auth else None,
        bucket=bucket,
        s3=(lambda: aws_s3_client(session, region)) if bucket else None,
        region=region,
        credentials=session.get_credentials(),
    )


def local_stack(port: int, s3_port: int) -> Stack:
    import boto3
    from botocore.config import Config

    from local.embedded_s3 import LOCAL_AWS_ENV, LOCAL_BUCKET

    endpoint = f"http://127.0.0.1:{s3_port}"
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return Stack(
        description=f"the local stack (make run): API http://127.0.0.1:{port}, S3 {endpoint} bucket {LOCAL_BUCKET}",
        api=f"http://127.0.0.1:{port}",
        auth=None,
        bucket=LOCAL_BUCKET,
        s3=lambda: boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=LOCAL_AWS_ENV["AWS_REGION"],
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            config=config,
        ),
        region=LOCAL_AWS_ENV["AWS_REGION"],
    )


@dataclass
class Smoke:
    stack: Stack
    timeout: float = 180.0
    poll_every: float = 1.0
    run: str = field(default_factory=lambda: f"smoke-{uuid.uuid4().hex[:12]}")
    results: list[str] = field(default_factory=list)
    written: set[str] = field(default_factory=set)  # every key to delete at the end
    folders: set[str] = field(default_factory=set)  # prefixes the pipeline may still write into
    job: dict | None = None  # the uploads check's job: (id, token) for the JWT check
    uploads_enabled: bool = True  # as /health tells
    _s3: object | None = None

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def s3(self):
        if self.stack.s3 is None:
            raise Skipped("no bucket given (BUCKET=…)")
        if self._s3 is None:
            self._s3 = self.stack.s3()
        return self._s3

    def url(self, path: str, params: dict | None = None) -> str:
        query = f"?{urlencode(params, quote_via=quote)}" if params else ""  # SigV4's encoding, signed as sent
        return f"{self.stack.api.rstrip('/')}{path}{query}"

    def call(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: bytes = b"",
        headers: dict | None = None,
        token: str | None = "default",
        sign: bool = True,
    ) -> requests.Response:
        """A request to the API as this stack's callers make it: SigV4-signed (iam), with a bearer
        token (jwt), or plain; `sign=False` (and token=None) sends it with no credentials at all."""
        url, headers = self.url(path, params), dict(headers or {})
        token = self.stack.token if token == "default" else token
        if sign and self.stack.auth == "jwt" and token:
            headers["Authorization"] = f"Bearer {token}"
        if sign and self.stack.auth == "iam":
            headers = self.signed(method, url, body, headers)
        return requests.request(method, url, data=body, headers=headers, timeout=REQUEST_TIMEOUT, allow_redirects=False)

    def signed(self, method: str, url: str, body: bytes, headers: dict) -> dict:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if self.stack.credentials is None:
            raise Failed("the API takes SigV4-signed requests (iam) and no AWS credentials were found to sign with")
        if not self.stack.region:
            raise Failed("no region to sign for: set AWS_REGION")
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(self.stack.credentials.get_frozen_credentials(), "execute-api", self.stack.region).add_auth(request)
        return dict(request.headers.items())

    def expect(self, response: requests.Response, *statuses: int) -> requests.Response:
        if response.status_code not in statuses:
            raise Failed(f"{response.request.method} {urlsplit(response.url).path}: {describe(response)}")
        return response

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.written.add(key)
        self.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body, ContentType=content_type)

    def wait_for_object(self, prefix: str, what: str) -> tuple[str, float]:
        """The first key under `prefix`, polled until SMOKE_TIMEOUT; (key, seconds waited)."""
        start = time.monotonic()
        while True:
            listed = self.s3.list_objects_v2(Bucket=self.stack.bucket, Prefix=prefix).get("Contents", [])
            if listed:
                self.written.update(item["Key"] for item in listed)
                return listed[0]["Key"], time.monotonic() - start
            if time.monotonic() - start > self.timeout:
                raise Failed(
                    f"no {what} under s3://{self.stack.bucket}/{prefix}… after {self.timeout:.0f} s: is the S3 trigger "
                    "(the bucket's notification, or the ingest queue) delivering to the S3 function? See its logs"
                )
            time.sleep(self.poll_every)

    def get_object(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.stack.bucket, Key=key)["Body"].read()

    # --- the checks -----------------------------------------------------------------------------
    def check(self, name: str, run: Callable[[], str]) -> None:
        start = time.monotonic()
        try:
            status, detail = "ok", run()
        except Skipped as why:
            status, detail = "skip", str(why)
        except Failed as finding:
            status, detail = "FAIL", str(finding)
        except requests.RequestException as error:
            status, detail = "FAIL", f"the API did not answer ({reason_of(error)})"
        except Exception as error:  # botocore's and anything else: a FAIL line, not a traceback
            status, detail = "FAIL", f"{type(error).__name__}: {reason_of(error) if 'Errno' in str(error) else error}"
        line = f"{status:<4} {time.monotonic() - start:6.2f}s  {name}: {detail}"
        self.results.append(status)
        print(line, flush=True)

    def health(self) -> str:
        response = self.expect(self.call("GET", "/health", sign=False), 200)
        facts = response.json()
        if facts.get("status") != "ok":
            raise Failed(f"/health answered {facts}")
        said = facts.get("auth")
        if self.stack.auth and said != self.stack.auth:
            raise Failed(f"the stack says the API takes {self.stack.auth} callers, the function runs with {said!r}")
        self.stack.auth = said
        self.uploads_enabled = facts.get("uploads", False)
        return f"model {facts.get('model')}, auth {said}, version {facts.get('version')}"

    def remove_bg_upload(self) -> str:
        self.need_credentials()
        response = self.call("POST", "/remove-bg", body=PHOTO.read_bytes(), headers={"Content-Type": "image/jpeg"})
        return cutout_facts(self.result_of(response))

    def remove_bg_image_url(self) -> str:
        self.need_credentials()
        key = f"{self.run}/photo.jpg"  # outside every prefix: nothing processes it but this request
        self.put(key, PHOTO.read_bytes(), "image/jpeg")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.stack.bucket, "Key": key})
        response = self.call("POST", "/remove-bg", params={"image_url": url})
        return f"{cutout_facts(self.result_of(response))}, from {urlsplit(url).hostname}"

    def upload_job(self) -> str:
        self.need_credentials()
        if not self.uploads_enabled:
            raise Skipped("/health says the API has no bucket for uploads")
        ticket = self.expect(self.call("POST", "/uploads", params={"content_type": "image/jpeg"}), 201).json()
        upload = ticket["upload"]
        key = upload["fields"]["key"]
        self.written.add(key)
        if key.startswith(self.stack.input_prefix):  # what the pipeline makes of it, should it finish late
            relative = key[len(self.stack.input_prefix) :]
            self.folders |= {f"{self.stack.output_prefix}{relative}.", f"{self.stack.failed_prefix}{relative}"}
        posted = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("photo.jpg", PHOTO.read_bytes(), "image/jpeg")},
            timeout=REQUEST_TIMEOUT,
        )
        if posted.status_code not in (200, 201, 204):
            raise Failed(f"the presigned POST to {urlsplit(upload['url']).hostname}: {describe(posted)}")
        start = time.monotonic()
        while True:
            status = self.expect(self.call("GET", f"/jobs/{ticket['id']}"), 200).json()
            if status["status"] != "pending":
                break
            if time.monotonic() - start > self.timeout:
                raise Failed(f"job {ticket['id']} still pending after {self.timeout:.0f} s: is the S3 trigger running?")
            time.sleep(self.poll_every)
        if status["status"] != "done":
            raise Failed(f"job {ticket['id']} ended {status['status']}: {status.get('error')}")
        self.written.add(status["result"]["key"])
        self.job = {"id": ticket["id"], "token": self.stack.token}
        download = requests.get(status["result"]["url"], timeout=REQUEST_TIMEOUT)
        if download.status_code != 200:
            raise Failed(f"the result's presigned GET: {describe(download)}")
        return f"job {ticket['id'][:8]}… done after {time.monotonic() - start:.1f} s; result {cutout_facts(download.content)}"

    def s3_drop(self) -> str:
        stem = f"{self.stack.input_prefix}{self.run}/photo"
        self.folders.add(f"{self.stack.output_prefix}{self.run}/")
        self.put(f"{stem}.jpg", PHOTO.read_bytes(), "image/jpeg")
        key, waited = self.wait_for_object(f"{self.stack.output_prefix}{self.run}/photo.", "cutout")
        return f"{key} after {waited:.1f} s: {cutout_facts(self.get_object(key))}"

    def s3_bad_file(self) -> str:
        self.folders.add(f"{self.stack.failed_prefix}{self.run}/")
        self.put(f"{self.stack.input_prefix}{self.run}/not-a-photo.jpg", NOT_A_PHOTO, "image/jpeg")
        key, waited = self.wait_for_object(f"{self.stack.failed_prefix}{self.run}/not-a-photo.jpg", "failure report")
        report = json.loads(self.get_object(key))
        code = (report.get("error") or {}).get("code")
        if not code:
            raise Failed(f"{key} is not a failure report: {str(report)[:200]}")
        return f"{key} after {waited:.1f} s: {code}"

    def anonymous_refused(self) -> str:
        if self.stack.auth == "none":
            raise Skipped("the API is public (auth none)")
        response = self.call("POST", "/uploads", params={"content_type": "image/jpeg"}, token=None, sign=False)
        if response.status_code not in (401, 403):
            raise Failed(f"a POST /uploads with no credentials was let through: {describe(response)}")
        return f"a POST /uploads with no credentials: {response.status_code}"

    def jwt_isolation(self) -> str:
        if self.stack.auth != "jwt":
            raise Skipped(f"the API's auth is {self.stack.auth}, not jwt")
        if not (self.stack.token and self.stack.other_token):
            raise Skipped("set TOKEN and OTHER_TOKEN (a second user's) to check that callers are kept apart")
        if self.job is None:
            raise Failed("needs the job of the uploads check, which did not finish")
        path = f"/jobs/{self.job['id']}"
        own = self.expect(self.call("GET", path, token=self.stack.token), 200)
        other = self.call("GET", path, token=self.stack.other_token)
        if other.status_code != 404:
            raise Failed(f"another caller asked for this caller's job and got {describe(other)}")
        return f"the job is {own.json()['status']} for its caller, 404 for another ({other.json()['error']['code']})"

    def preflight(self) -> str:
        origin = self.stack.origin
        if not origin:
            raise Skipped("no FrontendUrl (ORIGIN=https://… names the origin to check)")
        asked = {"iam": "content-type,x-amz-date,x-amz-security-token", "jwt": "content-type,authorization"}
        response = self.call(
            "OPTIONS",
            "/remove-bg",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": asked.get(self.stack.auth or "", "content-type"),
            },
            sign=False,
            token=None,
        )
        allowed = response.headers.get("access-control-allow-origin")
        if response.status_code not in (200, 204) or allowed not in (origin, "*"):
            raise Failed(f"the preflight from {origin}: {describe(response)}, allow-origin {allowed!r}")
        return f"from {origin}: {response.status_code}, allow-origin {allowed}"

    # --- helpers for the checks -------------------------------------------------------------------
    def need_credentials(self) -> None:
        if self.stack.auth == "jwt" and not self.stack.token:
            raise Skipped("the API takes bearer tokens: set TOKEN=… (make run prints one with API_AUTH=jwt)")

    def result_of(self, response: requests.Response) -> bytes:
        """The image a /remove-bg call answered, following a large result to the bucket."""
        if response.status_code == 303:
            response = requests.get(response.headers["location"], timeout=REQUEST_TIMEOUT)
        self.expect(response, 200)
        if response.headers.get("content-type") != "image/png":
            raise Failed(f"answered {response.headers.get('content-type')}, not image/png")
        return response.content

    def clean_up(self) -> str:
        """Delete every object the smoke wrote, and whatever the pipeline wrote into its folders."""
        if not self.written or self.stack.s3 is None:
            return "nothing to delete"
        try:
            for prefix in self.folders:
                listed = self.s3.list_objects_v2(Bucket=self.stack.bucket, Prefix=prefix).get("Contents", [])
                self.written.update(item["Key"] for item in listed)
            deleted = sum(self.delete_every_version(key) for key in sorted(self.written))
        except Exception as error:
            self.results.append("FAIL")
            return f"FAIL: could not delete all of {sorted(self.written)}: {error}"
        return f"deleted {deleted} object versions under {len(self.written)} keys"

    def delete_every_version(self, key: str) -> int:
        """In a versioned bucket a plain delete only hides the object: remove each version."""
        bucket = self.stack.bucket
        try:
            listed = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        except Exception:  # no permission to list versions: a plain delete is what is left
            self.s3.delete_object(Bucket=bucket, Key=key)
            return 1
        versions = [
            item["VersionId"]
            for kind in ("Versions", "DeleteMarkers")
            for item in listed.get(kind, [])
            if item["Key"] == key
        ]
        for version in versions:
            extra = {} if version == "null" else {"VersionId": version}
            self.s3.delete_object(Bucket=bucket, Key=key, **extra)
        return len(versions)

    def run_all(self) -> int:
        print(f"smoke: {self.stack.description}; run {self.run}", flush=True)
        self.check("GET /health", self.health)
        if self.results[-1] != "ok":
            print("smoke: the API did not answer /health, so nothing else can be checked", flush=True)
            return 1
        try:
            self.check("POST /remove-bg, a photo in the body", self.remove_bg_upload)
            self.check("POST /remove-bg?image_url=<presigned GET>", self.remove_bg_image_url)
            self.check("POST /uploads, presigned POST, GET /jobs/{id}", self.upload_job)
            self.check(f"S3 drop under {self.stack.input_prefix}", self.s3_drop)
            self.check(f"a bad file under {self.stack.input_prefix}", self.s3_bad_file)
            self.check("a caller with no credentials", self.anonymous_refused)
            self.check("JWT callers kept apart", self.jwt_isolation)
            self.check("CORS preflight", self.preflight)
        finally:
            print(f"cleanup: {self.clean_up()}", flush=True)
        counts = {status: self.results.count(status) for status in ("ok", "skip", "FAIL")}
        print(f"smoke: {counts['ok']} ok, {counts['skip']} skipped, {counts['FAIL']} FAIL", flush=True)
        return 1 if counts["FAIL"] else 0


def describe(response: requests.Response) -> str:
    """Status and the start of the body (the service's JSON error, or API Gateway's message)."""
    text = response.text[:300] if "image" not in response.headers.get("content-type", "") else "<image>"
    return f"HTTP {response.status_code} {text}".strip()


def cutout_facts(body: bytes) -> str:
    """A PNG with real transparency: some pixels wholly clear, some wholly opaque; else Failed."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except Exception as error:
        raise Failed(f"not an image ({error}): {body[:60]!r}") from None
    if image.format != "PNG" or image.mode != "RGBA":
        raise Failed(f"a {image.format} in mode {image.mode}, not an RGBA PNG")
    histogram, pixels = image.getchannel("A").histogram(), image.width * image.height
    if not (histogram[0] and histogram[255]):
        raise Failed(f"no real transparency: {histogram[0]} pixels with alpha 0, {histogram[255]} with alpha 255")
    # A mask's edge is soft and its inside mostly just short of 255: "opaque" counts alpha >= 250.
    clear, opaque = histogram[0] / pixels, sum(histogram[250:]) / pixels
    return f"{image.width}x{image.height} PNG, {clear:.0%} clear, {opaque:.0%} opaque"


def stack_from_arguments(args: argparse.Namespace) -> Stack:
    if args.stack:
        stack = stack_from_cloudformation(args.stack)
    elif args.api:
        stack = stack_named_directly(args.api, args.bucket, args.auth)
    else:
        stack = local_stack(args.port, args.s3_port)
        stack.origin = (os.environ.get("FRONTEND_URL") or "").split(",")[0].strip() or None
    stack.token, stack.other_token = args.token, args.other_token
    stack.origin = args.origin or stack.origin
    return stack


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--stack", default=env("STACK"), help="a deployed stack's name (STACK)")
    parser.add_argument("--api", default=env("API"), help="the API's base URL (API)")
    parser.add_argument("--bucket", default=env("BUCKET"), help="the stack's bucket (BUCKET)")
    parser.add_argument("--auth", default=env("AUTH"), choices=["iam", "jwt", "none"], help="the API's auth (AUTH)")
    parser.add_argument("--token", default=env("TOKEN"), help="a bearer token, in JWT mode (TOKEN)")
    parser.add_argument("--other-token", default=env("OTHER_TOKEN"), help="a second user's token (OTHER_TOKEN)")
    parser.add_argument("--origin", default=env("ORIGIN"), help="the origin whose preflight to check (ORIGIN)")
    parser.add_argument("--port", type=int, default=int(env("PORT") or 8090), help="local API port (PORT)")
    parser.add_argument("--s3-port", type=int, default=int(env("LOCAL_S3_PORT") or 8091), help="(LOCAL_S3_PORT)")
    parser.add_argument("--timeout", type=float, default=float(env("SMOKE_TIMEOUT") or 180), help="(SMOKE_TIMEOUT)")
    args = parser.parse_args(argv)
    try:
        stack = stack_from_arguments(args)
    except Failed as finding:
        print(f"FAIL {0:6.2f}s  the stack: {finding}", flush=True)
        return 1
    return Smoke(stack, timeout=args.timeout).run_all()


if __name__ == "__main__":
    sys.exit(main())
