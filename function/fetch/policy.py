"""Which image URLs the service may fetch, and which addresses it may connect to. No I/O.

The URL is parsed once here and the fetcher connects to exactly the host, port and request
target decided here, so no second parser can disagree with this one about where a URL points.
Anything ambiguous (backslashes, whitespace, percent-encoded or numeric-looking host names) is
refused rather than normalised: a stranger's URL gets the narrowest reading or none.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from function.errors import ErrorCode, UrlNotAllowed
from function.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192

# One DNS label, lower case (urlsplit lower-cases hostnames); no IDNA, no underscores: no
# allowed host needs them and every extra spelling is another way to disagree with DNS.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# WHATWG treats a host whose last label is a number (decimal, 0x-hex or octal) as an IPv4
# address, and inet_aton accepts 127.1, 0177.0.0.1, 0x7f.1 and 2130706433 as 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")

# ipaddress's is_global misses these (Python 3.11): they are either IPv4 wrapped in IPv6, which
# a NAT64/6to4/Teredo relay or a dual-stack socket can turn back into a private address, or
# special-purpose ranges that reach no public host.
_DENIED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2001::/32",
        "2002::/16",
        "fec0::/10",
    )
)


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    request_target: str  # path and query exactly as given: presigned signatures cover them
    trusted_endpoint: bool  # the configured local S3 endpoint: its address is not checked

    @property
    def redacted(self) -> str:
        # Fit for logs and messages: no userinfo (refused anyway), no query (signatures).
        path = self.request_target.split("?", 1)[0]
        return f"{self.scheme}://{self.host}:{self.port}{path[:200]}"


def refuse(code: ErrorCode, message: str) -> UrlNotAllowed:
    return UrlNotAllowed(message, code=code)


@lru_cache(maxsize=32)
def s3_hosts(bucket: str, region: str) -> tuple[frozenset[str], frozenset[str]]:
    """The bucket's (virtual-hosted, path-style) S3 host names: exact names, never a wildcard."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    service = {
        f"s3.{region}.{suffix}",
        f"s3-{region}.{suffix}",
        f"s3.dualstack.{region}.{suffix}",
        f"s3.{suffix}",
    }
    return frozenset(f"{bucket}.{host}" for host in service), frozenset(service)


@lru_cache(maxsize=8)
def _endpoint(url: str | None) -> tuple[str, str, int] | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"AWS_ENDPOINT_URL_S3 must be an http(s) URL with a host, not {url!r}")
    return scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme]


def check_url(url: str, settings: Settings) -> Target:
    """Parse `url` and apply the allow-list; raise `UrlNotAllowed` naming the rule that refused."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise refuse(ErrorCode.URL_MALFORMED, "image_url must be a URL of at most 8192 characters")
    # Control characters could split the request line; a backslash is a slash to browsers
    # and WHATWG parsers but not to urlsplit; non-ASCII has several encodings.
    if not url.isascii() or any(ch <= " " or ch in "\\\x7f" for ch in url):
        raise refuse(
            ErrorCode.URL_MALFORMED, "image_url contains whitespace, control, backslash or non-ASCII characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse(ErrorCode.URL_MALFORMED, "image_url could not be parsed (bad port or brackets)") from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in DEFAULT_PORTS and scheme != "":
        raise refuse(ErrorCode.URL_SCHEME_NOT_ALLOWED, f"image_url scheme {scheme!r} is not allowed; use https")
    if "@" in parts.netloc:
        raise refuse(ErrorCode.URL_USERINFO_NOT_ALLOWED, "image_url must not contain user:password@")
    if not scheme or not host:
        raise refuse(ErrorCode.URL_MALFORMED, "image_url must be an absolute https URL with a host")
    port = DEFAULT_PORTS[scheme] if port is None else port

    endpoint = _endpoint(settings.aws_endpoint_url_s3)
    is_endpoint = endpoint is not None and (scheme, host, port) == endpoint
    if not is_endpoint:
        if scheme != "https":
            raise refuse(ErrorCode.URL_SCHEME_NOT_ALLOWED, "image_url must use https")
        _check_host_shape(host)
    _check_path(parts.path)

    bucket = settings.aws_bucket_name
    if is_endpoint:
        # The local S3 stand-in serves any bucket path-style; only ours may be read.
        if bucket:
            _require_bucket_segment(parts.path, bucket)
    else:
        virtual, path_style = s3_hosts(bucket, settings.aws_region or "us-east-1") if bucket else ((), ())
        if bucket and host in path_style:
            _require_bucket_segment(parts.path, bucket)
        elif host not in virtual and host not in settings.extra_image_hosts:
            raise refuse(ErrorCode.URL_HOST_NOT_ALLOWED, f"image_url host {host!r} is not an allowed image host")
        if port != 443:
            raise refuse(ErrorCode.URL_PORT_NOT_ALLOWED, f"image_url port {port} is not allowed; only 443")

    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Target(scheme, host, port, target, is_endpoint)


def _check_host_shape(host: str) -> None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise refuse(ErrorCode.URL_ADDRESS_NOT_ALLOWED, "image_url must name a host, not an IP address")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise refuse(ErrorCode.URL_MALFORMED, "image_url host is an IP address in a non-standard notation")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise refuse(ErrorCode.URL_MALFORMED, "image_url host is not a valid DNS name")


def _check_path(path: str) -> None:
    # S3 keys may legally contain "..", but a proxy or CDN in between may resolve it and
    # step out of the bucket segment checked below.
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise refuse(ErrorCode.URL_PATH_NOT_ALLOWED, "image_url path must not contain '.' or '..' segments")


def _require_bucket_segment(path: str, bucket: str) -> None:
    segments = path.split("/")
    if len(segments) < 3 or segments[0] != "" or segments[1] != bucket or not segments[2]:
        raise refuse(ErrorCode.URL_PATH_NOT_ALLOWED, "a path-style S3 URL must be /<configured bucket>/<key>")


def check_address(address: str) -> None:
    """Refuse any resolved address that is not plainly public (deny by default)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id
    if (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip.version == net.version and ip in net for net in _DENIED_NETWORKS)
    ):
        raise refuse(ErrorCode.URL_ADDRESS_NOT_ALLOWED, f"image_url resolves to a non-public address ({ip})")
