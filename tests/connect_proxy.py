"""A small HTTP CONNECT proxy, as a company's: optional Basic credentials, and its own log.

Each tunnel is logged with the proxy's own port towards the target, which the emulator records
as the caller's `client_port`: a request whose `client_port` is one of the proxy's went through it.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import socketserver
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Optional


@dataclass(frozen=True)
class Tunnel:
    target: str  # host:port the client asked for
    status: int  # 200 opened, 407 credentials missing or wrong, 502 target unreachable
    upstream_port: int  # the proxy's port towards the target (0 when none was opened)


class ConnectProxy:
    """`with ConnectProxy(username, password) as proxy:` serves on `proxy.url` meanwhile."""

    def __init__(self, username: str = "", password: str = "") -> None:
        self.username = username
        self.password = password
        self._lock = threading.Lock()
        self._tunnels: list[Tunnel] = []
        self._server = _Server(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def tunnels(self) -> list[Tunnel]:
        with self._lock:
            return list(self._tunnels)

    @property
    def opened_ports(self) -> set[int]:
        return {t.upstream_port for t in self.tunnels if t.status == 200}

    def record(self, tunnel: Tunnel) -> None:
        with self._lock:
            self._tunnels.append(tunnel)

    def accepts(self, authorization: str) -> bool:
        if not self.username:
            return True
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return authorization.strip() == f"Basic {expected}"

    def __enter__(self) -> ConnectProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: ConnectProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Tunneller)


class _Tunneller(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request_line = self.rfile.readline(8192).decode("latin-1").split()
        headers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(8192).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if len(request_line) < 2 or request_line[0] != "CONNECT":
            self._answer("405 Method Not Allowed")
            return
        target = request_line[1]
        proxy = self.server.proxy
        if not proxy.accepts(headers.get("proxy-authorization", "")):
            proxy.record(Tunnel(target, 407, 0))
            self._answer("407 Proxy Authentication Required", 'Proxy-Authenticate: Basic realm="t"')
            return
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            proxy.record(Tunnel(target, 502, 0))
            self._answer("502 Bad Gateway")
            return
        proxy.record(Tunnel(target, 200, upstream.getsockname()[1]))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        _relay(self.connection, upstream)

    def _answer(self, status: str, *extra: str) -> None:
        lines = [f"HTTP/1.1 {status}", *extra, "Content-Length: 0", "Connection: close", "", ""]
        self.wfile.write("\r\n".join(lines).encode("latin-1"))
        self.wfile.flush()


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    sockets = [client, upstream]
    with upstream:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for source in readable:
                other = upstream if source is client else client
                try:
                    data = source.recv(65536)
                    if not data:
                        with contextlib.suppress(OSError):
                            other.shutdown(socket.SHUT_WR)
                        return
                    other.sendall(data)
                except OSError:
                    return
