"""A fake OCI Object Storage server for the tests: the standard library only, in memory.

No OCI emulator runs here, so this covers what the ``oci`` SDK sends for our backend:
GetNamespace, CreateBucket, DeleteBucket, PutObject, GetObject (with ``Range``), HeadObject,
DeleteObject and ListObjects (``prefix``, ``start``, ``end``, ``limit``, ``delimiter``, paging
through ``nextStartWith``). It speaks HTTP/1.1 with a Content-Length on every reply, answers
``Expect: 100-continue`` only after checking the request's signature, and takes object names
percent-encoded (an encoded ``/`` stays in the name).

Requests must carry the SDK's ``Signature`` authorization; when the server is given the user's
public key it verifies the RSA-SHA256 signature and the key id, like the service (401
NotAuthenticated otherwise). Errors are the service's JSON ``{"code", "message"}``.

Server-side fault switches (`FakeObjectStorage.faults`) make the next GetObject answers fail:
an error status, a body that stalls, or a body cut short.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["Fault", "FakeObjectStorage"]

_SIGNATURE = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Fault:
    """What the next GetObject answer does instead of succeeding.

    Attributes:
        status: Answer this HTTP status (e.g. 503) with an error body.
        stall_after: Send the headers and this many body bytes, then go silent for `seconds`.
        truncate_after: Send the headers and this many body bytes, then close the connection.
        trickle: Send the body 1 KiB at a time, this many seconds apart, for `seconds`.
        seconds: How long a stall or a trickle lasts.
    """

    status: int | None = None
    stall_after: int | None = None
    truncate_after: int | None = None
    trickle: float | None = None
    seconds: float = 30.0


@dataclass
class _Object:
    data: bytes
    content_type: str
    etag: str = field(default_factory=lambda: uuid.uuid4().hex)
    modified: str = field(default_factory=lambda: formatdate(usegmt=True))


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeObjectStorage:
    """The server's state and its lifetime (a daemon thread in this process).

    Args:
        namespace: The tenancy's Object Storage namespace.
        key_id: The accepted ``<tenancy>/<user>/<fingerprint>``; None accepts any signature.
        public_key: The user's RSA public key, to verify signatures (with `key_id`).
    """

    def __init__(
        self,
        namespace: str = "testns",
        key_id: str | None = None,
        public_key: rsa.RSAPublicKey | None = None,
    ) -> None:
        self.namespace = namespace
        self.key_id = key_id
        self.public_key = public_key
        self.buckets: dict[str, dict[str, _Object]] = {}
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> FakeObjectStorage:
        handler = type("Handler", (_Handler,), {"store": self})
        self._httpd = _Server(("127.0.0.1", port), handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    @property
    def endpoint(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- authentication -------------------------------------------------------------------------

    def check_signature(self, method: str, target: str, headers: Any) -> None:
        authorization = headers.get("authorization", "")
        fields = dict(_SIGNATURE.findall(authorization))
        if not authorization.startswith("Signature ") or "signature" not in fields:
            raise _Error(401, "NotAuthenticated", "Missing or malformed Authorization header")
        if self.key_id is not None and fields.get("keyId") != self.key_id:
            raise _Error(401, "NotAuthenticated", f"Unknown key id {fields.get('keyId')!r}")
        if self.public_key is None:
            return
        lines = []
        for name in fields.get("headers", "").split():
            value = f"{method.lower()} {target}" if name == "(request-target)" else headers[name]
            lines.append(f"{name}: {value}")
        try:
            self.public_key.verify(
                base64.b64decode(fields["signature"]),
                "\n".join(lines).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception as e:
            raise _Error(401, "NotAuthenticated", f"The signature does not verify: {e!r}") from e

    # -- the operations -----------------------------------------------------------------------

    def bucket(self, namespace: str, name: str) -> dict[str, _Object]:
        if namespace != self.namespace or name not in self.buckets:
            raise _Error(
                404, "BucketNotFound", f"Either the bucket named '{name}' does not exist in the "
                f"namespace '{namespace}' or you are not authorized to access it"
            )
        return self.buckets[name]

    def object(self, namespace: str, bucket: str, name: str) -> _Object:
        objects = self.bucket(namespace, bucket)
        if name not in objects:
            raise _Error(404, "ObjectNotFound", f"The object '{name}' was not found in the "
                         f"bucket '{bucket}'")
        return objects[name]

    def list_objects(self, namespace: str, bucket: str, query: dict[str, str]) -> dict[str, Any]:
        prefix, start, end = query.get("prefix", ""), query.get("start", ""), query.get("end")
        limit = max(1, min(1000, int(query.get("limit", 1000))))
        delimiter = query.get("delimiter")
        fields = set(query.get("fields", "name").split(","))
        objects: list[dict[str, Any]] = []
        prefixes: set[str] = set()
        with self.lock:
            bucket_objects = dict(self.bucket(namespace, bucket))
        for name in sorted(bucket_objects):
            if not name.startswith(prefix) or name < start or (end is not None and name >= end):
                continue
            if len(objects) + len(prefixes) == limit:
                return self._listing(objects, prefixes, delimiter, next_start_with=name)
            if delimiter and delimiter in name[len(prefix):]:
                cut = name.index(delimiter, len(prefix)) + len(delimiter)
                prefixes.add(name[:cut])
                continue
            info = bucket_objects[name]
            entry: dict[str, Any] = {"name": name}
            if "size" in fields:
                entry["size"] = len(info.data)
            if "etag" in fields:
                entry["etag"] = info.etag
            objects.append(entry)
        return self._listing(objects, prefixes, delimiter, next_start_with=None)

    @staticmethod
    def _listing(
        objects: list[dict[str, Any]], prefixes: set[str], delimiter: str | None,
        next_start_with: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"objects": objects}
        if delimiter:
            body["prefixes"] = sorted(prefixes)
        if next_start_with is not None:
            body["nextStartWith"] = next_start_with
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (after a fault, or a timeout) are normal here: stay quiet."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes
    store: FakeObjectStorage

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass

    # -- plumbing -------------------------------------------------------------------------------

    def handle_expect_100(self) -> bool:
        try:
            self.store.check_signature(self.command, self.path, self.headers)
        except _Error as e:
            self._error(e)
            self.close_connection = True
            return False
        return super().handle_expect_100()

    def _reply(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("opc-request-id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._reply(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _error(self, error: _Error) -> None:
        self._json(error.status, {"code": error.code, "message": error.message})

    def _body(self) -> bytes:
        if "Content-Length" not in self.headers:
            raise _Error(411, "MissingContentLength", "The Content-Length header is required")
        self._body_read = True
        return self.rfile.read(int(self.headers["Content-Length"]))

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's names)
        self._dispatch()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _dispatch(self) -> None:
        store = self.store
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with store.lock:
            store.requests.append((self.command, self.path))
        self._body_read = False
        try:
            store.check_signature(self.command, self.path, self.headers)
            self._route(self.command, [p for p in parts if p], parts, query)
        except _Error as e:
            if not self._body_read and "Content-Length" in self.headers:
                self.rfile.read(int(self.headers["Content-Length"]))  # keep the connection sane
            self._error(e)

    def _route(self, method: str, parts: list[str], raw: list[str], query: dict[str, str]) -> None:
        store = self.store
        if parts == ["n"] and method == "GET":
            return self._json(200, store.namespace)
        if len(parts) == 3 and parts[0] == "n" and parts[2] == "b" and method == "POST":
            details = json.loads(self._body())
            with store.lock:
                if parts[1] != store.namespace:
                    raise _Error(404, "NamespaceNotFound", f"Unknown namespace {parts[1]!r}")
                if details["name"] in store.buckets:
                    raise _Error(409, "BucketAlreadyExists", f"{details['name']} exists")
                store.buckets[details["name"]] = {}
            return self._json(200, {"name": details["name"], "namespace": parts[1],
                                    "compartmentId": details.get("compartmentId")})
        if len(parts) == 4 and parts[0] == "n" and parts[2] == "b" and method == "DELETE":
            with store.lock:
                store.bucket(parts[1], parts[3])
                del store.buckets[parts[3]]
            return self._reply(204)
        if len(parts) == 5 and parts[2:5:2] == ["b", "o"] and method == "GET":
            return self._json(200, store.list_objects(parts[1], parts[3], query))
        if len(raw) >= 6 and raw[0] == "n" and raw[2] == "b" and raw[4] == "o":
            name = "/".join(raw[5:])  # already one segment when the client encodes "/"
            return self._object(method, raw[1], raw[3], name)
        raise _Error(404, "NotFound", f"No route for {method} {self.path}")

    # -- objects --------------------------------------------------------------------------------

    def _object(self, method: str, namespace: str, bucket: str, name: str) -> None:
        store = self.store
        if method == "PUT":
            data = self._body()
            if "x-content-sha256" in self.headers:
                digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
                if digest != self.headers["x-content-sha256"]:
                    raise _Error(400, "InvalidContentSha256", "x-content-sha256 does not match")
            obj = _Object(data, self.headers.get("Content-Type", "application/octet-stream"))
            with store.lock:
                store.bucket(namespace, bucket)[name] = obj
            md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
            return self._reply(200, headers={"ETag": obj.etag, "opc-content-md5": md5,
                                             "last-modified": obj.modified})
        with store.lock:
            obj = store.object(namespace, bucket, name)
            if method == "DELETE":
                del store.buckets[bucket][name]
                return self._reply(204)
            fault = store.faults.popleft() if method == "GET" and store.faults else None
        headers = {"ETag": obj.etag, "Content-Type": obj.content_type,
                   "last-modified": obj.modified, "Accept-Ranges": "bytes"}
        status, data = 200, obj.data
        if "Range" in self.headers:
            status, data, headers["Content-Range"] = 206, *_slice(obj.data, self.headers["Range"])
        if method == "HEAD":
            return self._reply(200, headers=headers, length=len(obj.data))
        if fault is None:
            return self._reply(status, data, headers)
        self._faulty(fault, status, data, headers)

    def _faulty(self, fault: Fault, status: int, data: bytes, headers: dict[str, str]) -> None:
        if fault.status is not None:
            return self._error(_Error(fault.status, "InjectedFault", "An injected failure"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.close_connection = True
        if fault.trickle is not None:
            end = time.monotonic() + fault.seconds
            for at in range(0, len(data), 1024):
                if time.monotonic() > end:
                    return
                self.wfile.write(data[at : at + 1024])
                time.sleep(fault.trickle)
            return
        cut = fault.stall_after if fault.stall_after is not None else fault.truncate_after
        self.wfile.write(data[:cut])
        if fault.stall_after is not None:
            time.sleep(fault.seconds)


def _slice(data: bytes, header: str) -> tuple[bytes, str]:
    """The bytes a ``Range: bytes=a-b`` header asks for, and their Content-Range."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    size = len(data)
    if match is None or match.groups() == ("", ""):
        raise _Error(416, "InvalidRange", f"Malformed range {header!r}")
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(size - 1, int(last)) if last else size - 1
    if start >= size or start > end:
        raise _Error(416, "InvalidRange", f"Range {header!r} is outside the object ({size} bytes)")
    return data[start : end + 1], f"bytes {start}-{end}/{size}"
