"""A loopback HTTP reverse proxy that injects faults between an SDK and a storage server.

    proxy = FaultProxy("http://127.0.0.1:9000", rate=0.2, seed=1).start()
    # point the SDK at proxy.url; every GET has a 20% chance of one fault
    proxy.stop()

Faults (`KINDS`), drawn with a seeded RNG among `kinds` for requests whose method is in
`methods` and whose path contains `path_contains`:

* ``reset``: the connection is reset (RST) before any answer;
* ``500`` / ``503``: an S3-style XML error answer (``InternalError`` / ``SlowDown``);
* ``stall``: nothing is sent for `stall_s` seconds (past the client's timeout), then the
  connection is closed;
* ``stall_body``: the headers and part of the body are sent, then nothing for `stall_s`;
* ``truncate``: the headers are sent with the full ``Content-Length``, then only part of the
  body, then the connection is closed;
* ``trickle`` (not drawn by default): the body is sent at `trickle_bps` bytes per second, so
  that no single read waits long but the whole takes long.

Every request is logged in `requests` (method, path, headers, fault) and counted in `counts`.
Standard library only; one thread per client connection, one upstream connection per thread.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import random
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

__all__ = ["FaultProxy", "KINDS", "LoggedRequest"]

KINDS = ("reset", "500", "503", "stall", "truncate")
ALL_KINDS = (*KINDS, "stall_body", "trickle")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}
_ERROR_CODES = {500: "InternalError", 503: "SlowDown"}
_PIECE = 1 << 20


@dataclass
class LoggedRequest:
    """One request the proxy saw (header names lower-cased), and the fault it injected (None:
    passed through)."""

    method: str
    path: str
    headers: dict[str, str] = field(repr=False)
    fault: str | None


class FaultProxy:
    """A reverse proxy to `upstream` (``http://host:port``) that injects faults.

    Args:
        upstream: The real server.
        rate: Probability that a request with a method in `methods` gets a fault.
        seed: Seed of the fault RNG.
        kinds: Faults to draw from (see the module docstring).
        methods: HTTP methods that may get faults.
        stall_s: How long a stall lasts (longer than the client's timeout).
        path_contains: Only requests whose path contains this may get faults.
        max_faults: Stop injecting after this many faults (None: no limit).
        fraction: Part of the body sent before a truncation or a mid-body stall (None: a
            seeded draw between 0.1 and 0.9 each time).
        trickle_bps: Bytes per second of a ``trickle``.
    """

    def __init__(
        self,
        upstream: str,
        rate: float = 0.0,
        seed: int = 0,
        kinds: Iterable[str] = KINDS,
        methods: Iterable[str] = ("GET",),
        stall_s: float = 30.0,
        path_contains: str = "",
        max_faults: int | None = None,
        fraction: float | None = None,
        trickle_bps: int = 64 << 10,
    ) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.rate = rate
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault kinds {sorted(unknown)}; known: {ALL_KINDS}")
        self.methods = {m.upper() for m in methods}
        self.stall_s = stall_s
        self.path_contains = path_contains
        self.max_faults = max_faults
        self.fraction = fraction
        self.trickle_bps = trickle_bps
        self.requests: list[LoggedRequest] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients hang up: expected
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The proxy's address, to give the SDK as its endpoint."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any stalled connection."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def faults(self) -> int:
        """How many faults were injected so far."""
        with self._lock:
            return sum(n for kind, n in self.counts.items() if kind != "ok")

    def _choose(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        with self._lock:
            fault = None
            eligible = method in self.methods and self.path_contains in path and self.kinds
            injected = sum(n for kind, n in self.counts.items() if kind != "ok")
            if self.max_faults is not None and injected >= self.max_faults:
                eligible = False
            if eligible and self._rng.random() < self.rate:
                fault = self._rng.choice(self.kinds)
            lowered = {k.lower(): v for k, v in headers.items()}
            self.requests.append(LoggedRequest(method, path, lowered, fault))
            self.counts[fault or "ok"] += 1
            return fault

    def _fraction(self) -> float:
        if self.fraction is not None:
            return self.fraction
        with self._lock:
            return self._rng.uniform(0.1, 0.9)


def _make_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and "100 Continue" for Expect headers
        _upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def finish(self) -> None:
            with contextlib.suppress(OSError):
                super().finish()

        def do_any(self) -> None:
            body = self._read_body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            fault = proxy._choose(self.command, self.path, headers)
            if fault == "reset":
                return self._reset()
            if fault in ("500", "503"):
                return self._error(int(fault))
            if fault == "stall":
                proxy._stopping.wait(proxy.stall_s)
                return self._reset()
            self._forward(body, headers, fault)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_any  # noqa: N815

        def _read_body(self) -> bytes | None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _reset(self) -> None:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            self.close_connection = True

        def _close(self) -> None:
            """End the connection cleanly (FIN after the bytes sent so far)."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.close()
            self.close_connection = True

        def _error(self, status: int) -> None:
            code = _ERROR_CODES[status]
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>Injected fault</Message></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _connect(self) -> http.client.HTTPConnection:
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            return self._upstream

        def _forward(self, body: bytes | None, headers: dict[str, str], fault: str | None) -> None:
            if body is not None:
                headers["Content-Length"] = str(len(body))
            for attempt in range(2):  # an idle upstream connection may have been closed
                conn = self._connect()
                try:
                    conn.putrequest(self.command, self.path, skip_host=True,
                                    skip_accept_encoding=True)
                    for name, value in headers.items():
                        conn.putheader(name, value)
                    conn.endheaders(body)
                    response = conn.getresponse()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    self._upstream = None
                    if attempt:
                        raise
            has_body = self.command != "HEAD" and response.status not in (204, 304)
            data = response.read() if has_body else b""
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            length = int(response.getheader("Content-Length") or len(data))
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if fault in ("truncate", "stall_body") and len(data) > 1:
                self.wfile.write(data[: max(1, int(len(data) * proxy._fraction()))])
                self.wfile.flush()
                if fault == "stall_body":
                    proxy._stopping.wait(proxy.stall_s)
                return self._close()
            if fault == "trickle":
                piece = max(1, proxy.trickle_bps // 10)
                for start in range(0, len(data), piece):
                    if proxy._stopping.wait(0.1):
                        return self._close()
                    self.wfile.write(data[start : start + piece])
                    self.wfile.flush()
                return
            for start in range(0, len(data), _PIECE):
                self.wfile.write(data[start : start + _PIECE])

    return Handler
