"""HTTPS plumbing: a threading server that turns each HTTP exchange into `Request -> Response`.

The TLS handshake runs in the connection's own thread, so one slow client cannot stall the others.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from runner.emulator.certificates import Pki
from runner.emulator.requestlog import LoggedRequest, RequestLog
from runner.emulator.wire import DropConnection, HttpError, Request, Response

Answer = Callable[[Request], Response]


def tls_context(pki: Pki, client_ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if client_ca is not None:
        # Optional, so that callers without one (the tests' control calls) still get in.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cafile=str(client_ca))
    return context


class HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    # Clients (azure-core, requests) reuse connections; a small backlog is enough on loopback.
    request_queue_size = 64

    def __init__(
        self, port: int, context: ssl.SSLContext, answer: Answer, log: RequestLog, name: str
    ) -> None:
        self.context = context
        self.answer = answer
        self.log = log
        self.name = name
        super().__init__(("127.0.0.1", port), _Exchange)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that gave up, or one that does not trust our CA
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is routine, not worth a traceback

    def start(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever,
            name=f"https-{self.name}",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        thread.start()
        return thread


class _Exchange(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Azure's front doors allow
    server: HttpsServer
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces the default stderr chatter

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, the body would wait for the
        # client's delayed ACK (~40 ms a request), a latency Azure's front doors do not add.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        started = time.time()
        parts = urlsplit(self.path)
        # `az cloud register` joins its endpoint and path with one slash too many.
        path = "/" + "/".join(p for p in unquote(parts.path).split("/") if p)
        if unquote(parts.path).endswith("/") and path != "/":
            path += "/"
        request = Request(
            method=self.command,
            path=path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={key: value for key, value in self.headers.items()},
            body=self._read_body(),
        )
        try:
            response = self.server.answer(request)
        except HttpError as error:
            response = error.response
        except DropConnection:
            self._record(started, request, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception as error:  # the emulator's own fault: an answer, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            response = HttpError.plain(
                500, f"The emulator failed on {request.method} {path}: {type(error).__name__}"
            ).response
        self._record(started, request, response.status)
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, started: float, request: Request, status: int) -> None:
        self.server.log.record(
            LoggedRequest(
                started,
                self.server.name,
                request.method,
                request.path,
                dict(request.query),
                status,
                int(self.client_address[1]),
                _client_certificate(self.connection),
            )
        )

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle
    do_OPTIONS = _handle


def _client_certificate(connection: Any) -> str:
    """The common name of the caller's verified client certificate, or ""."""
    peer = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
    subject = cast(tuple[tuple[tuple[str, str], ...], ...], (peer or {}).get("subject", ()))
    names = [pair for rdn in subject for pair in rdn]
    return next((str(value) for key, value in names if key == "commonName"), "")
