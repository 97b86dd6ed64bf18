"""Download an image from a stranger-supplied URL without letting the URL reach inside.

`url_policy` decides which URLs are allowed; this module makes the connection honour that
decision: the host is resolved once, every resolved address is checked, and the socket is
connected to a checked address (so a DNS answer that changes between check and connect - DNS
rebinding - cannot smuggle in 127.0.0.1:9001 or 169.254.169.254). TLS still verifies the
certificate and sends SNI/Host for the host name.

Redirects are never followed: presigned S3 URLs do not redirect, and a followed redirect is
a second URL the caller never showed us. Any 3xx is refused as `url_redirect_not_allowed`.

urllib3 is used below its pool: it never reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY (only
requests and urllib do), and a single connection has no retries or redirects to switch off.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError

from function.errors import ErrorCode, ImageFetchFailed, InputTooLarge, UrlNotAllowed
from function.fetch.policy import Target, check_address, check_url
from function.settings import Settings

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


class _VettedConnectionMixin(HTTPConnection):
    """Replaces urllib3's connect step: resolve, check every address, connect to a checked one.

    urllib3 resolves inside socket.create_connection and connects to whatever comes back; it
    has no hook to inspect the address, hence this override of `_new_conn`.
    """

    trusted_endpoint: bool = False
    deadline: float = 0.0
    watchdog: threading.Timer | None = None

    def _new_conn(self) -> socket.socket:
        # getaddrinfo cannot be interrupted; the resolver's own timeouts bound it, not ours.
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ImageFetchFailed(f"could not resolve image host {self.host!r}") from exc
        if not self.trusted_endpoint:
            for *_, sockaddr in infos:
                check_address(str(sockaddr[0]))  # one bad answer taints the name: refuse it all
        last_error: OSError | None = None
        for family, type_, proto, _, sockaddr in infos:
            sock = socket.socket(family, type_, proto)
            try:
                remaining = max(self.deadline - time.monotonic(), 0.001)
                sock.settimeout(remaining if self.timeout is None else min(self.timeout, remaining))
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._arm_watchdog(sock)
            return sock
        if isinstance(last_error, TimeoutError):
            raise ConnectTimeoutError(self, f"connect to {self.host} timed out")
        raise ImageFetchFailed(f"could not connect to image host {self.host!r}: {last_error}")

    def _arm_watchdog(self, sock: socket.socket) -> None:
        # Socket timeouts bound each recv, not the download: a server dripping a byte per
        # second (headers or body) would never trip them. Shutting the socket at the deadline
        # does. socket.socket.shutdown, not SSLSocket's, so the TLS object is left alone.
        def expire() -> None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

        self.watchdog = threading.Timer(max(self.deadline - time.monotonic(), 0), expire)
        self.watchdog.daemon = True
        self.watchdog.start()


class _VettedHTTPConnection(_VettedConnectionMixin, HTTPConnection):
    pass


class _VettedHTTPSConnection(_VettedConnectionMixin, HTTPSConnection):
    pass


def fetch_image(url: str, settings: Settings) -> bytes:
    """Return the body of `url` if policy allows it, it answers 2xx in time and fits the cap."""
    try:
        target = check_url(url, settings)
    except UrlNotAllowed as exc:
        log.warning("refused image URL (%d chars): %s", len(url) if isinstance(url, str) else 0, exc.code)
        raise
    deadline = time.monotonic() + settings.fetch_timeout
    cls = _VettedHTTPSConnection if target.scheme == "https" else _VettedHTTPConnection
    conn = cls(target.host, target.port, timeout=settings.fetch_connect_timeout)
    conn.trusted_endpoint, conn.deadline = target.trusted_endpoint, deadline
    try:
        return _download(conn, target, settings, deadline)
    except UrlNotAllowed as exc:
        log.warning("refused image URL %s: %s", target.redacted, exc.code)
        raise
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        if time.monotonic() >= deadline or isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
            reason = "timed out"
        else:
            reason = f"failed ({type(exc).__name__})"
        log.info("image fetch %s: %s", reason, target.redacted)
        raise ImageFetchFailed(f"fetching the image from {target.host} {reason}") from None
    finally:
        if conn.watchdog is not None:
            conn.watchdog.cancel()
        conn.close()


def _download(conn: HTTPConnection, target: Target, settings: Settings, deadline: float) -> bytes:
    conn.request(
        "GET",
        target.request_target,
        headers={"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": "bg-removal-fetch/1"},
        preload_content=False,
        decode_content=False,  # a gzip body would be a decompression bomb past the byte cap
    )
    conn.timeout = max(deadline - time.monotonic(), 0.001)  # applied to the socket by getresponse
    response = conn.getresponse()
    if 300 <= response.status < 400:
        raise UrlNotAllowed(
            f"the image URL redirected (HTTP {response.status}); redirects are not followed",
            code=ErrorCode.URL_REDIRECT_NOT_ALLOWED,
        )
    if not 200 <= response.status < 300:
        raise ImageFetchFailed(f"fetching the image from {target.host} failed: HTTP {response.status}")

    cap = settings.max_input_bytes
    if response.length_remaining is not None and response.length_remaining > cap:
        raise InputTooLarge.over(cap, size=response.length_remaining)
    body = bytearray()
    while len(body) <= cap:
        chunk = response.read(min(READ_CHUNK, cap + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) > cap:
        raise InputTooLarge.over(cap)
    if time.monotonic() >= deadline:  # the watchdog may have cut the body short
        raise TimeoutError("deadline passed while reading the body")
    return bytes(body)
