"""Presigned URLs name the bucket's own region, virtual-hosted, in every partition.

boto3's default presigns the legacy global host (`<bucket>.s3.amazonaws.com`): outside us-east-1 a
new bucket answers it with a 307 for up to a day, which a browser's CORS preflight cannot follow,
and opt-in regions refuse it. Presigning is offline, so the host our code produces is checked here
for real regions with no endpoint override, with every non-loopback connection refused.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from mangum import Mangum

from function.bucket.storage import ObjectStore
from function.fetch.policy import check_url
from function.http.web import add_web_routes, result_origins
from function.settings import Settings
from tests.support import header, http_api_event, lambda_context

REGIONS = {  # region -> the domain its S3 endpoints live under
    "us-east-1": "amazonaws.com",
    "eu-west-1": "amazonaws.com",
    "ap-southeast-3": "amazonaws.com",  # opt-in: refuses the global host
    "us-gov-west-1": "amazonaws.com",  # the GovCloud partition
    "cn-north-1": "amazonaws.com.cn",  # the China partition
}


def bucket_in(region: str) -> str:
    return f"rembg-123456789012-{region}-1a2b3c4d"  # as template.yaml names it


def _loopback(host) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def offline(monkeypatch) -> list:
    """Every attempt to resolve or connect to a non-loopback host fails and is recorded."""
    attempts: list = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            attempts.append(host)
            raise socket.gaierror(f"offline test: no lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded(real):
        def connect(sock, address):
            if isinstance(address, tuple) and not _loopback(address[0]):
                attempts.append(address)
                raise ConnectionRefusedError(f"offline test: no connection to {address}")
            return real(sock, address)

        return connect

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(socket.socket.connect_ex))
    return attempts


@pytest.fixture
def aws_in(monkeypatch, tmp_path):
    """The environment Lambda gives the function in `region`: credentials, no endpoint override,
    no config files of the machine running the tests."""

    def set_region(region: str) -> None:
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
        monkeypatch.setenv("AWS_REGION", region)
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)

    return set_region


@pytest.mark.parametrize("region", REGIONS)
def test_presigned_get_and_post_name_the_buckets_regional_virtual_host(region, aws_in, offline):
    aws_in(region)
    bucket = bucket_in(region)
    host = f"{bucket}.s3.{region}.{REGIONS[region]}"
    store = ObjectStore()

    get = urlsplit(store.presign_get(bucket, "output/me/photo 1.png", expires_in=3600))
    post = store.presign_post(bucket, "input/job.jpg", {"Content-Type": "image/jpeg"}, 1000, expires_in=3600)

    assert (get.scheme, get.netloc, get.path) == ("https", host, "/output/me/photo%201.png")
    assert parse_qs(get.query)["X-Amz-Credential"][0].endswith(f"/{region}/s3/aws4_request")
    assert post["url"] == f"https://{host}/"
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert post["fields"]["x-amz-credential"].endswith(f"/{region}/s3/aws4_request")
    assert offline == [], "presigning must not touch the network"


@pytest.mark.parametrize("region", REGIONS)
def test_the_page_may_reach_the_regional_host_and_the_api_may_fetch_from_it(region, aws_in, offline):
    """The page's CSP lets it POST uploads to, and fetch parked results from, exactly the host the
    presigned URLs name; and a presigned GET of the bucket passes the image_url allow-list."""
    aws_in(region)
    bucket = bucket_in(region)
    settings = Settings(aws_bucket_name=bucket, aws_region=region, aws_endpoint_url_s3=None)
    store = ObjectStore()
    get_url = store.presign_get(bucket, "input/photo.jpg", expires_in=600)
    post_url = store.presign_post(bucket, "input/job.jpg", {}, 1000, expires_in=600)["url"]
    app = FastAPI(docs_url=None, redoc_url=None)
    add_web_routes(app, settings)

    page = Mangum(app, lifespan="off")(http_api_event("GET", "/"), lambda_context())
    csp = header(page, "content-security-policy")
    connect_src = next(part for part in csp.split(";") if part.strip().startswith("connect-src")).split()[1:]

    origin = f"https://{bucket}.s3.{region}.{REGIONS[region]}"
    assert {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in (get_url, post_url)} == {origin}
    assert origin in result_origins(settings) and origin in connect_src
    assert check_url(get_url, settings).host == urlsplit(origin).hostname
    assert offline == []


def test_the_guard_does_catch_a_call_to_aws(aws_in, offline):
    """The offline guard is not vacuous: a real S3 call through the same store is caught."""
    aws_in("eu-west-1")
    store = ObjectStore()

    with pytest.raises(Exception):  # noqa: B017 (whichever way botocore reports the refused connection)
        store.client.head_object(Bucket=bucket_in("eu-west-1"), Key="k")

    assert offline and "eu-west-1" in str(offline[0])


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8091", "http://localhost:4566"])
def test_an_endpoint_override_keeps_path_style_urls_the_allow_list_accepts(endpoint, aws_in, monkeypatch, offline):
    """A local S3 (make run's moto, or another emulator by name) gets path-style URLs: the fetcher only
    trusts `<endpoint>/<configured bucket>/<key>` there, and `<bucket>.localhost` need not resolve."""
    aws_in("eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    settings = Settings(aws_bucket_name="local-bucket", aws_endpoint_url_s3=endpoint)
    store = ObjectStore()

    get_url = store.presign_get("local-bucket", "input/photo.jpg", expires_in=600)
    post_url = store.presign_post("local-bucket", "input/job.jpg", {}, 1000, expires_in=600)["url"]

    assert get_url.startswith(f"{endpoint}/local-bucket/input/photo.jpg?")
    assert post_url == f"{endpoint}/local-bucket"
    assert check_url(get_url, settings).trusted_endpoint
    assert result_origins(settings) == [endpoint]
    assert offline == []
