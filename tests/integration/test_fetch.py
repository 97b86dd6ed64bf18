"""fetch_image against real sockets on loopback.

Part 1: a stand-in for the configured local S3 endpoint (http.server in a thread) shows the
happy path and each way a download can go wrong. Part 2, the SSRF suite: sentinel listeners
sit on other loopback addresses and ports, a long list of hostile URLs is thrown at
fetch_image, and the sentinels must see zero connections. DNS answers are faked by patching
socket.getaddrinfo in the test only (fault injection beside the real path); nothing leaves
127.0.0.1 / ::1.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import http.server
import logging
import os
import socket
import threading
import time
from typing import ClassVar

import pytest

from function.errors import ImageFetchFailed, InputTooLarge, UrlNotAllowed
from function.fetch.fetcher import fetch_image
from function.settings import Settings

BUCKET = "my-bucket"
CAP = 200_000
IMAGE = os.urandom(150_000)  # under the cap, several read chunks
SECRET = "X-Amz-Signature=d3adb33fSECRET"


# --- listeners ------------------------------------------------------------------------------------


class Sentinel:
    """A listening socket nobody should reach. Loopback connects complete in the kernel before
    accept(), so draining the accept queue afterwards counts every connection exactly."""

    def __init__(self, host: str, port: int = 0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.sock.setblocking(False)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.hits = 0

    def drain(self) -> int:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self.hits
            conn.close()
            self.hits += 1


def try_sentinel(host: str, port: int = 0) -> Sentinel | None:
    try:
        return Sentinel(host, port)
    except OSError:  # no IPv6, port taken, or not root for :80/:443
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []
    state: ClassVar[dict] = {}

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        Handler.seen.append(self.path)
        route = self.path.split("?", 1)[0]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            getattr(self, "route_" + route.rsplit("/", 1)[-1].replace(".", "_").replace("-", "_"))()

    def _headers(self, status=200, **headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), str(value))
        self.end_headers()

    def route_cat_png(self):
        self._headers(Content_Type="image/png", Content_Length=len(IMAGE))
        self.wfile.write(IMAGE)

    def route_missing_png(self):
        self._headers(404, Content_Length=0)

    def route_declared_huge_png(self):
        self._headers(Content_Length=CAP + 1)
        Handler.state["release"].wait(30)  # the body comes only after the client has given up

    def route_endless_chunked_png(self):
        self._headers(Transfer_Encoding="chunked")
        sent, chunk = 0, b"x" * 65536
        try:
            while sent < 512 * 1024 * 1024:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass
        finally:
            Handler.state["chunked_sent"] = sent
            Handler.state["chunked_done"].set()

    def route_slow_body_png(self):
        self._headers(Content_Length=1000)
        for _ in range(1000):  # a byte every 50 ms: each read is quick, the whole is not
            self.wfile.write(b"x")
            self.wfile.flush()
            Handler.state["dripped"] += 1
            time.sleep(0.05)

    def route_slow_headers_png(self):
        for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Drip: " + b"y" * 1000:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            Handler.state["dripped"] += 1
            time.sleep(0.05)

    def route_redirect_png(self):
        self._headers(302, Location=Handler.state["redirect_to"], Content_Length=0)


@pytest.fixture(scope="module")
def endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetcher_log(caplog):
    """What the fetcher logs. Its package logger does not propagate to the root (caplog's) once
    function.observability has given it Powertools' handler, so listen on the fetcher itself."""
    fetcher = logging.getLogger("function.fetch.fetcher")
    fetcher.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger=fetcher.name)
    yield caplog
    fetcher.removeHandler(caplog.handler)


def make_settings(endpoint_url: str | None, **overrides) -> Settings:
    values = dict(
        aws_bucket_name=BUCKET,
        aws_region="eu-west-1",
        aws_endpoint_url_s3=endpoint_url,
        max_input_bytes=CAP,
        fetch_connect_timeout=0.5,
        fetch_timeout=0.8,
    )
    values.update(overrides)
    return Settings(**values)


# --- part 1: the configured endpoint ----------------------------------------------------------


def test_bytes_come_back_exactly_and_the_signed_query_reaches_the_server_untouched(endpoint, monkeypatch):
    # Proxies from the environment must not be used: point them at a sentinel.
    trap = Sentinel("127.0.0.1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{trap.port}")
    path = f"/{BUCKET}/input/cat.png?{SECRET}&X-Amz-Credential=a%2Fb"
    assert fetch_image(endpoint + path, make_settings(endpoint)) == IMAGE
    assert Handler.seen[-1] == path
    assert trap.drain() == 0


def test_a_404_is_a_fetch_failure_that_names_the_status_but_not_the_signature(endpoint, fetcher_log):
    with pytest.raises(ImageFetchFailed) as exc:
        fetch_image(f"{endpoint}/{BUCKET}/missing.png?{SECRET}", make_settings(endpoint))
    assert exc.value.status == 400 and exc.value.code == "image_fetch_failed"
    assert "404" in exc.value.message
    assert "SECRET" not in exc.value.message and "SECRET" not in fetcher_log.text


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(endpoint):
    Handler.state["release"] = threading.Event()
    try:  # waiting for the body would end at the fetch deadline as "timed out" instead
        with pytest.raises(InputTooLarge) as exc:
            fetch_image(f"{endpoint}/{BUCKET}/declared-huge.png", make_settings(endpoint))
    finally:
        Handler.state["release"].set()
    assert exc.value.status == 413


def test_an_endless_chunked_body_is_cut_off_at_the_cap(endpoint):
    Handler.state["chunked_done"] = threading.Event()
    with pytest.raises(InputTooLarge):
        fetch_image(f"{endpoint}/{BUCKET}/endless-chunked.png", make_settings(endpoint))
    assert Handler.state["chunked_done"].wait(5), "the server kept streaming after we gave up"
    # Whatever the server managed to push is socket buffers, not a 512 MB download.
    assert Handler.state["chunked_sent"] < 64 * 1024 * 1024


@pytest.mark.parametrize("route", ["slow-body.png", "slow-headers.png"])
def test_a_server_that_drips_is_abandoned_at_the_total_deadline(endpoint, route):
    Handler.state["dripped"] = 0
    with pytest.raises(ImageFetchFailed) as exc:
        fetch_image(f"{endpoint}/{BUCKET}/{route}", make_settings(endpoint))
    # Every read is quick, so only the total deadline can end it, long before the last byte.
    assert "timed out" in exc.value.message and Handler.state["dripped"] < 1000


def test_nothing_listening_is_a_fetch_failure():
    closed = Sentinel("127.0.0.1")
    closed.sock.close()
    url = f"http://127.0.0.1:{closed.port}"
    with pytest.raises(ImageFetchFailed):
        fetch_image(f"{url}/{BUCKET}/cat.png", make_settings(url))


@pytest.mark.parametrize("where", ["sentinel", "same endpoint"])
def test_redirects_are_refused_not_followed(endpoint, where):
    sentinel = Sentinel("127.0.0.1")
    Handler.state["redirect_to"] = (
        f"http://127.0.0.1:{sentinel.port}/latest/meta-data/" if where == "sentinel" else f"{endpoint}/{BUCKET}/cat.png"
    )
    before = len(Handler.seen)
    with pytest.raises(UrlNotAllowed) as exc:
        fetch_image(f"{endpoint}/{BUCKET}/redirect.png", make_settings(endpoint))
    assert exc.value.code == "url_redirect_not_allowed" and exc.value.status == 400
    assert sentinel.drain() == 0
    assert len(Handler.seen) == before + 1  # only the redirecting request itself


# --- HTTPS: connected to the vetted IP, still verified against the host name -------------------


def _self_signed(tmp_path, name: str):
    crypto = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = crypto.Name([crypto.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        crypto.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(crypto.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(crypto.SubjectAlternativeName([crypto.DNSName(name)]), critical=False)
        .add_extension(crypto.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("cert_name,ok", [("images.example.test", True), ("other.example.test", False)])
def test_https_is_verified_against_the_host_name_not_the_vetted_ip(tmp_path, monkeypatch, cert_name, ok):
    import ssl

    import function.fetch.fetcher as fetch

    cert_file, key_file = _self_signed(tmp_path, cert_name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # trust only the test certificate
        monkeypatch.setattr(socket, "getaddrinfo", fake_resolver({"images.example.test": [("127.0.0.1", port)]}))
        # Loopback stands in for a public address here; the address rule is tested below.
        monkeypatch.setattr(fetch, "check_address", lambda address: None)
        settings = make_settings(None, allowed_image_hosts="images.example.test")
        url = "https://images.example.test/cat.png"
        if ok:
            assert fetch_image(url, settings) == IMAGE
        else:
            with pytest.raises(ImageFetchFailed):
                fetch_image(url, settings)
    finally:
        server.shutdown()
        server.server_close()


# --- part 2: the SSRF suite ------------------------------------------------------------------------


def fake_resolver(answers: dict[str, list[tuple[str, int]]], calls: list | None = None):
    """getaddrinfo that answers for the given names (DNS we control) and refuses the rest."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        result = []
        for address, real_port in answers[host]:
            if ":" in address:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, real_port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, real_port)))
        return result

    return getaddrinfo


def test_ssrf_probes_are_all_refused_and_no_sentinel_is_ever_reached(monkeypatch):
    sentinels = [Sentinel("127.0.0.1"), Sentinel("127.0.0.1"), Sentinel("127.0.0.2")]
    sentinels += [
        s
        for s in (
            try_sentinel("::1"),
            try_sentinel("127.0.0.1", 9001),
            try_sentinel("127.0.0.1", 443),
            try_sentinel("127.0.0.1", 80),
        )
        if s
    ]
    endpoint = sentinels[0]  # configured, so it could be reached: but no probe may get there
    v4 = [s for s in sentinels if ":" not in s.host]
    ep = f"127.0.0.1:{endpoint.port}"

    # DNS we control: allow-listed names that answer with loopback, metadata, mapped and
    # mixed addresses. Each answer carries a sentinel's port, so a missed check would land.
    p, q = v4[1].port, v4[2].port
    hostile_dns = {
        "rebind.example.test": [("127.0.0.1", p)],
        "mixed.example.test": [("52.95.110.1", p), ("127.0.0.1", p)],  # one bad answer taints all
        "private.example.test": [("10.0.0.5", p)],
        "two.example.test": [("127.0.0.2", q)],
        "mapped.example.test": [("::ffff:127.0.0.1", p)],  # dual-stack socket reaches v4 loopback
        "compat.example.test": [("::127.0.0.1", p)],
        "six.example.test": [("::1", p)],
        "metadata.example.test": [("169.254.169.254", 80)],
        "cgnat.example.test": [("100.64.0.1", p)],
        "unspec.example.test": [("0.0.0.0", p)],  # 0.0.0.0 connects to the local host on Linux
        "nat64.example.test": [("64:ff9b::7f00:1", p)],
        "sixtofour.example.test": [("2002:7f00:1::", p)],
        "teredo.example.test": [("2001:0:4136:e378:8000:63bf:3fff:fdd2", p)],
        f"{BUCKET}.s3.eu-west-1.amazonaws.com": [("127.0.0.1", p)],  # poisoned S3 name
        "s3.eu-west-1.amazonaws.com": [("169.254.169.254", 80), ("127.0.0.2", q)],
    }
    calls: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(hostile_dns, calls))
    settings = make_settings(
        f"http://{ep}",
        allowed_image_hosts=",".join(h for h in hostile_dns if h.endswith(".test")),
    )

    probes = [f"https://{host}/{BUCKET}/cat.png" for host in hostile_dns]
    for s in sentinels[1:]:  # the endpoint's own legitimate URL is not a probe
        hp = f"[{s.host}]:{s.port}" if ":" in s.host else f"{s.host}:{s.port}"
        probes += [
            f"http://{hp}/{BUCKET}/cat.png",
            f"https://{hp}/{BUCKET}/cat.png",
            f"https://{BUCKET}.s3.amazonaws.com@{hp}/",
            f"http://{ep}@{hp}/{BUCKET}/cat.png",
            f"http://{hp}#@{ep}/{BUCKET}/cat.png",
            f"https://images.example.com\\@{hp}/",
        ]
    for s in v4:
        port = s.port
        probes += [
            f"http://localhost:{port}/",
            f"https://localhost:{port}/",
            f"http://2130706433:{port}/",
            f"https://0177.0.0.1:{port}/",
            f"https://0x7f.1:{port}/",
            f"https://0x7f000001:{port}/",
            f"https://127.1:{port}/",
            f"https://127.0.1:{port}/",
            f"https://[::ffff:127.0.0.1]:{port}/",
            f"https://[::ffff:7f00:1]:{port}/",
            f"https://[::127.0.0.1]:{port}/",
            f"https://[64:ff9b::7f00:1]:{port}/",
            f"https://rebind.example.test:{port}/",  # allowed name, sentinel port
            f"gopher://127.0.0.1:{port}/_GET%20/",
        ]
    probes += [
        f"https://{BUCKET}.s3.amazonaws.com@{ep}/{BUCKET}/cat.png",
        f"http://user:pass@{ep}/{BUCKET}/cat.png",
        f"http://{ep}/other-bucket/cat.png",  # the endpoint, outside our bucket
        f"http://{ep}/{BUCKET}/../other-bucket/cat.png",
        f"https://{ep}/{BUCKET}/cat.png",  # the endpoint's host and port, wrong scheme
        f"http://localhost:{endpoint.port}/{BUCKET}/cat.png",  # the endpoint, respelt
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/api/token",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "file:///proc/self/environ",
        "https://internal-alb.eu-west-1.elb.amazonaws.com/",
        "https://my-bucket.s3.eu-west-1.amazonaws.com:9001/cat.png",
    ]

    refused, codes = 0, set()
    for url in probes:
        try:
            fetch_image(url, settings)
        except UrlNotAllowed as exc:
            assert exc.status == 400 and exc.code.startswith("url_"), url
            refused, codes = refused + 1, codes | {exc.code}
        except Exception as exc:  # pragma: no cover - a probe that got further than it should
            pytest.fail(f"{url!r} was not refused by policy: {exc!r}")
        else:  # pragma: no cover
            pytest.fail(f"{url!r} was fetched")
    hits = sum(s.drain() for s in sentinels)
    print(f"\nSSRF probes: {len(probes)} tried, {refused} refused, {hits} sentinel connections")
    assert len(probes) >= 60
    assert refused == len(probes) and hits == 0
    assert set(calls) == set(hostile_dns)  # the DNS probes really got as far as resolving
    assert {"url_address_not_allowed", "url_userinfo_not_allowed", "url_malformed"} <= codes


def test_the_address_checked_is_the_address_connected_to(monkeypatch):
    """DNS rebinding: the first answer is public, every later one is loopback. The name is
    resolved once, and the connect goes to the address that was checked."""
    sentinel = Sentinel("127.0.0.1")
    answers = iter([[("52.95.110.1", 443)]])
    calls: list[str] = []

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        answer = next(answers, [("127.0.0.1", sentinel.port)])
        return fake_resolver({host: answer})(host, port)

    connected: list = []

    class RecordingSocket(socket.socket):
        # Stops the connect to the public address from leaving the machine; records it.
        def connect(self, address):
            connected.append(address[0])
            if address[0] != "127.0.0.1":
                raise OSError(errno.ENETUNREACH, "test: no route off loopback")
            return super().connect(address)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(socket, "socket", RecordingSocket)
    settings = make_settings(None, allowed_image_hosts="rebind.example.test")
    with pytest.raises(ImageFetchFailed):
        fetch_image("https://rebind.example.test/cat.png", settings)
    assert calls == ["rebind.example.test"] and connected == ["52.95.110.1"]
    assert sentinel.drain() == 0
