"""The URL allow-list, read as a list of stories: what a stranger tries, what they get back.

Pure: no sockets, no DNS. Every refusal must carry the code naming the rule, because that code
is what the API returns and what an operator greps for.
"""

from __future__ import annotations

import pytest

from function.errors import UrlNotAllowed
from function.fetch.policy import check_address, check_url
from function.settings import Settings

BUCKET = "my-bucket"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        aws_bucket_name=BUCKET,
        aws_region="eu-west-1",
        allowed_image_hosts="images.example.com, CDN.Example.org",
        aws_endpoint_url_s3="http://127.0.0.1:4566",
    )


# --- what a legitimate caller sends -----------------------------------------------------------

GOOD = [
    # virtual-hosted, regional / legacy dash / legacy global / dualstack
    "https://my-bucket.s3.eu-west-1.amazonaws.com/input/cat.png",
    "https://my-bucket.s3-eu-west-1.amazonaws.com/input/cat.png",
    "https://my-bucket.s3.amazonaws.com/input/cat.png",
    "https://my-bucket.s3.dualstack.eu-west-1.amazonaws.com/input/cat.png",
    # path-style, same families
    "https://s3.eu-west-1.amazonaws.com/my-bucket/input/cat.png",
    "https://s3-eu-west-1.amazonaws.com/my-bucket/input/cat.png",
    "https://s3.amazonaws.com/my-bucket/input/cat.png",
    "https://s3.dualstack.eu-west-1.amazonaws.com/my-bucket/input/cat.png",
    # presigned: query kept byte-for-byte, explicit :443, upper-case scheme and host
    "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b.png?X-Amz-Signature=ab%2Fcd&X-Amz-Expires=60",
    "https://my-bucket.s3.eu-west-1.amazonaws.com:443/cat.png",
    "HTTPS://MY-BUCKET.S3.EU-WEST-1.AMAZONAWS.COM/cat.png",
    # allow-listed extra hosts (configured in mixed case)
    "https://images.example.com/cat.png",
    "https://cdn.example.org/x/y.jpg?v=1",
    # the configured local endpoint, path-style into our bucket
    "http://127.0.0.1:4566/my-bucket/input/cat.png",
]


@pytest.mark.parametrize("url", GOOD)
def test_the_buckets_own_urls_and_allow_listed_hosts_are_accepted(url, settings):
    target = check_url(url, settings)
    assert target.port in (443, 4566)
    assert target.trusted_endpoint == (target.port == 4566)


def test_a_presigned_query_reaches_the_wire_untouched_and_never_the_redacted_form(settings):
    url = "https://my-bucket.s3.eu-west-1.amazonaws.com/k%2Bey.png?X-Amz-Signature=SECRET%2F%3D"
    target = check_url(url, settings)
    assert target.request_target == "/k%2Bey.png?X-Amz-Signature=SECRET%2F%3D"
    assert "SECRET" not in target.redacted


def test_without_a_region_the_bucket_is_looked_for_in_us_east_1():
    settings = Settings(aws_bucket_name=BUCKET, aws_region=None, aws_endpoint_url_s3=None)
    assert check_url("https://my-bucket.s3.us-east-1.amazonaws.com/a.png", settings).host.endswith(
        "us-east-1.amazonaws.com"
    )
    with pytest.raises(UrlNotAllowed) as exc:
        check_url("https://my-bucket.s3.eu-west-1.amazonaws.com/a.png", settings)
    assert exc.value.code == "url_host_not_allowed"


def test_without_a_bucket_only_the_extra_hosts_are_allowed():
    settings = Settings(aws_bucket_name=None, allowed_image_hosts="images.example.com")
    check_url("https://images.example.com/a.png", settings)
    with pytest.raises(UrlNotAllowed) as exc:
        check_url("https://s3.amazonaws.com/my-bucket/a.png", settings)
    assert exc.value.code == "url_host_not_allowed"


# --- what an attacker sends ---------------------------------------------------------------------

BAD = {
    "url_scheme_not_allowed": [
        "http://my-bucket.s3.eu-west-1.amazonaws.com/cat.png",  # plain http to a real host
        "file:///etc/passwd",
        "file:///proc/self/environ",  # Lambda credentials live in the environment
        "ftp://my-bucket.s3.amazonaws.com/cat.png",
        "gopher://127.0.0.1:9001/_GET",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",  # Lambda runtime API
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:4567/my-bucket/cat.png",  # endpoint host, other port
        "http://localhost:4566/my-bucket/cat.png",  # endpoint port, other spelling
    ],
    "url_userinfo_not_allowed": [
        "https://my-bucket.s3.amazonaws.com@127.0.0.1/cat.png",
        "https://user:pass@my-bucket.s3.amazonaws.com/cat.png",
        "https://my-bucket.s3.amazonaws.com:443@169.254.169.254/",
        "https://@my-bucket.s3.amazonaws.com/cat.png",
        "http://x@127.0.0.1:4566/my-bucket/cat.png",
        "https://images.example.com%2F@127.0.0.1/",  # an encoded slash does not end userinfo
    ],
    "url_host_not_allowed": [
        "https://other-bucket.s3.eu-west-1.amazonaws.com/cat.png",
        "https://my-bucket.s3.us-west-2.amazonaws.com/cat.png",  # another region
        "https://internal-alb-123.eu-west-1.elb.amazonaws.com/",  # why no *.amazonaws.com
        "https://sts.amazonaws.com/",
        "https://my-bucket.s3.eu-west-1.amazonaws.com.evil.com/cat.png",
        "https://evilmy-bucket.s3.eu-west-1.amazonaws.com/cat.png",
        "https://x.images.example.com/cat.png",  # extra hosts are exact, not suffixes
        "https://localhost/cat.png",
        "https://metadata.google.internal/",
        "https://s3.eu-west-1.amazonaws.com.evil.com/my-bucket/cat.png",
    ],
    "url_port_not_allowed": [
        "https://my-bucket.s3.eu-west-1.amazonaws.com:8443/cat.png",
        "https://images.example.com:9001/cat.png",
        "https://images.example.com:80/cat.png",
    ],
    "url_path_not_allowed": [
        "https://s3.eu-west-1.amazonaws.com/other-bucket/cat.png",  # path-style, wrong bucket
        "https://s3.amazonaws.com/my-bucket",  # the bucket listing, not an object
        "https://s3.amazonaws.com/%6Dy-bucket/cat.png",
        "https://s3.amazonaws.com/my-bucket/../other-bucket/cat.png",
        "https://s3.amazonaws.com/my-bucket/%2e%2e/other-bucket/cat.png",
        "http://127.0.0.1:4566/other-bucket/cat.png",  # the endpoint serves only our bucket
    ],
    "url_address_not_allowed": [
        "https://127.0.0.1/cat.png",
        "https://169.254.169.254/latest/meta-data/iam/",
        "https://8.8.8.8/cat.png",  # IP literals are refused even when public
        "https://[::1]/cat.png",
        "https://[::ffff:127.0.0.1]/cat.png",
        "https://[::ffff:7f00:1]/cat.png",
        "https://[0:0:0:0:0:ffff:a9fe:a9fe]/",
        "https://[fe80::1%25eth0]/",
        "https://127.0.0.1:4566/my-bucket/cat.png",  # endpoint host and port, but https
    ],
    "url_malformed": [
        "",
        "my-bucket.s3.amazonaws.com/cat.png",  # no scheme
        "//my-bucket.s3.amazonaws.com/cat.png",
        "https:///cat.png",
        "https://2130706433/",  # 127.0.0.1 as one decimal number
        "https://0177.0.0.1/",  # octal
        "https://0x7f.1/",  # hex + short form
        "https://0x7f000001/",
        "https://127.1/",
        "https://127.0.0.1./",  # trailing dot
        "https://017700000001/",
        "https://%31%32%37.0.0.1/",
        "https://my-bucket.s3.amazonaws.com\\@127.0.0.1/",  # backslash: a slash to browsers
        "https://my-bucket.s3.amazonaws.com/cat.png\r\nHost: 127.0.0.1",  # header injection
        "https://my-bucket.s3.amazonaws.com/ cat.png",
        "https://images.exämple.com/cat.png",
        "https://images.example.com:99999/cat.png",  # port out of range
        "https://images.example.com:abc/cat.png",
        "https://[::1/cat.png",
        "https://images_example.com/cat.png",
        "https://" + "a" * 9000 + ".com/",
    ],
}


@pytest.mark.parametrize("code,url", [(code, url) for code, urls in BAD.items() for url in urls], ids=lambda v: v[:60])
def test_every_probe_is_refused_with_the_code_naming_its_rule(code, url, settings):
    with pytest.raises(UrlNotAllowed) as exc:
        check_url(url, settings)
    assert exc.value.status == 400
    assert exc.value.code == code, exc.value.message
    assert "?" not in exc.value.message


def test_a_public_ip_passes_the_address_check():
    check_address("52.95.110.1")  # an S3 address
    check_address("2600:1fa0:80a4:1b00::1")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "127.255.255.254",  # loopback (the runtime API at :9001)
        "169.254.169.254",
        "169.254.170.2",  # instance metadata, ECS/Lambda credentials
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",  # private
        "100.64.0.1",
        "100.127.255.254",  # carrier-grade NAT
        "0.0.0.0",
        "0.1.2.3",  # unspecified / "this network"
        "224.0.0.1",
        "239.255.255.250",  # multicast
        "240.0.0.1",
        "255.255.255.255",  # reserved / broadcast
        "192.0.0.8",
        "198.18.0.1",
        "192.0.2.1",  # special purpose, benchmarking, documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",  # IPv4-mapped: refused even when it maps to public
        "::127.0.0.1",
        "::7f00:1",  # IPv4-compatible
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1 / 169.254.169.254
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",  # NAT64
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",  # documentation
    ],
)
def test_every_non_public_address_is_refused(address):
    with pytest.raises(UrlNotAllowed) as exc:
        check_address(address)
    assert exc.value.code == "url_address_not_allowed"
