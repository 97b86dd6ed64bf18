"""The Lambda Runtime API (2018-06-01) on 127.0.0.1, as far as a runtime client uses it.

Hand-written because no library serves it: the runtime interface client (awslambdaric) asks for
the next invocation, then posts that invocation's response or error; a failed init posts an init
error. Events are handed out in order; when they run out, `next` answers 500, which ends the client
(as a shutdown would), so a test can wait for the process to exit.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    event: dict
    before: Callable[[], None] | None = None  # runs just before the event is handed out (e.g. break S3)
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: str | None = None  # "response" | "error"
    body: dict | None = None
    xray_cause: str | None = None  # the X-Ray cause header an error is posted with


class LocalRuntimeApi:
    def __init__(self, invocations: list[Invocation], function_name: str = "rembg-local", timeout_ms: int = 120_000):
        self.invocations = invocations
        self.function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.timeout_ms = timeout_ms
        self.init_error: dict | None = None
        self._next = iter(invocations)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """What AWS_LAMBDA_RUNTIME_API holds: host:port, no scheme."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> LocalRuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _find(self, request_id: str) -> Invocation:
        return next(i for i in self.invocations if i.request_id == request_id)

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output to the assertions
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._answer(404)
                invocation = next(api._next, None)
                if invocation is None:
                    return self._answer(500, b'{"errorMessage": "no more events", "errorType": "Runtime.Shutdown"}')
                if invocation.before:
                    invocation.before()
                deadline = int(time.time() * 1000) + api.timeout_ms
                self._answer(
                    200,
                    json.dumps(invocation.event).encode(),
                    {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                parts = self.path[len(PREFIX) + 1 :].split("/")
                if parts == ["init", "error"]:
                    api.init_error = body
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = api._find(parts[1])
                    invocation.outcome, invocation.body = parts[2], body
                    invocation.xray_cause = self.headers.get("Lambda-Runtime-Function-XRay-Error-Cause")
                else:
                    return self._answer(404)
                self._answer(202, b'{"status": "OK"}')

        return Handler
