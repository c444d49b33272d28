"""A small Azure Data Lake Storage Gen2 account on loopback, for the azure-dl:// tests (azurite
has no DFS endpoint: Azure/Azurite#409), with the checks the service makes.

    python -m tests.storage.adls.dfs_server --root DIR --port N --account A --key BASE64KEY

Path-style URLs, as for azurite: ``http://127.0.0.1:N/<account>/<filesystem>/<path>``. A
filesystem is a directory ``DIR/<filesystem>`` (tests make them directly, and may put files
there). What azure-storage-file-datalake uses, and nothing else:

* the Blob API on the same account (the SDK downloads and reads properties through it):
  ``HEAD`` (properties) and ``GET`` with ``x-ms-range`` (206 and ``Content-Range``; 416
  ``InvalidRange`` past the end);
* the DFS API: ``PUT ?resource=file`` (create or replace; ``If-None-Match: *`` refuses an
  existing file), ``PATCH ?action=append&position=P`` (P must be the bytes appended so far),
  ``PATCH ?action=flush&position=N`` (N must be all of them; ``If-Match`` checked), and
  ``GET <filesystem>?resource=filesystem&recursive=..&directory=..`` (the JSON path listing).

Every request must be signed with the account key (SharedKey, as documented for the Blob and
DFS services: the string-to-sign over the verb, the standard headers, the ``x-ms-*`` headers and
the canonicalized resource) and carry ``x-ms-version`` and ``x-ms-date``; a wrong signature is
403 ``AuthenticationFailed``. Errors carry ``x-ms-error-code`` (``FilesystemNotFound``,
``PathNotFound``, ``BlobNotFound``, ``ContainerNotFound``...). Each request is logged to
``DIR/requests.log`` as ``METHOD path?query``.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["main"]

_SIGNED_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type",
    "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _etag(data: bytes) -> str:
    return '"0x' + hashlib.sha1(data).hexdigest()[:16].upper() + '"'


def _http_date(path: Path) -> str:
    return email.utils.formatdate(path.stat().st_mtime, usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _DFSServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("x-ms-version", self.headers.get("x-ms-version", ""))
        if "x-ms-client-request-id" in self.headers:
            self.send_header("x-ms-client-request-id", self.headers["x-ms-client-request-id"])
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        with open(self.server.root / "requests.log", "a", encoding="utf-8") as log:
            log.write(f"{self.command} {parts.path}?{parts.query}\n")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self._check_signature(parts.path, parts.query)
            self._route(unquote(parts.path), dict(parse_qsl(parts.query)), body)
        except _Error as e:
            payload = json.dumps({"error": {"code": e.code, "message": e.message}}).encode()
            self._send(e.status, payload,
                       {"x-ms-error-code": e.code, "Content-Type": "application/json"})

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = _dispatch

    # -- SharedKey --------------------------------------------------------------------------

    def _check_signature(self, raw_path: str, raw_query: str) -> None:
        if "x-ms-version" not in self.headers or "x-ms-date" not in self.headers:
            raise _Error(400, "MissingRequiredHeader", "x-ms-version and x-ms-date are required")
        given = self.headers.get("Authorization", "")
        match = re.fullmatch(r"SharedKey ([^:]+):(.+)", given)
        if match is None or match.group(1) != self.server.account:
            raise _Error(403, "AuthenticationFailed", "No SharedKey authorization for the account")
        values = {name.lower(): value for name, value in self.headers.items()}
        if values.get("content-length") == "0":
            values.pop("content-length")
        lines = [self.command, *(values.get(name, "") for name in _SIGNED_HEADERS)]
        ms = sorted((n, v.strip()) for n, v in values.items() if n.startswith("x-ms-"))
        canonical_headers = "".join(f"{n}:{v}\n" for n, v in ms)
        resource = f"/{self.server.account}{raw_path}"
        for name, value in sorted((n.lower(), v) for n, v in parse_qsl(raw_query,
                                                                          keep_blank_values=True)):
            resource += f"\n{name}:{value}"
        to_sign = "\n".join(lines) + "\n" + canonical_headers + resource
        expected = base64.b64encode(
            hmac.new(self.server.key, to_sign.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, match.group(2)):
            raise _Error(403, "AuthenticationFailed",
                         "The MAC signature found in the HTTP request is not the same as any "
                         "computed signature")

    # -- routes -----------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str], body: bytes) -> None:
        segments = path.strip("/").split("/")
        if segments[0] != self.server.account or len(segments) < 2:
            raise _Error(400, "InvalidUri", f"Not a path of account {self.server.account}")
        filesystem, rel = segments[1], "/".join(segments[2:])
        fs_dir = self.server.root / filesystem
        blob_api = self.command in ("GET", "HEAD") and "resource" not in query
        if not fs_dir.is_dir() or filesystem == "requests.log":
            code = "ContainerNotFound" if blob_api else "FilesystemNotFound"
            raise _Error(404, code, f"The specified filesystem {filesystem!r} does not exist.")
        if not rel:
            if self.command == "GET" and query.get("resource") == "filesystem":
                return self._list(fs_dir, query)
            raise _Error(400, "UnsupportedOperation", f"{self.command} {query} on a filesystem")
        target = fs_dir / rel
        if blob_api:
            return self._read(target)
        if self.command == "PUT" and query.get("resource") == "file":
            return self._create(target)
        if self.command == "PATCH" and query.get("action") == "append":
            return self._append(target, int(query.get("position", "-1")), body)
        if self.command == "PATCH" and query.get("action") == "flush":
            return self._flush(target, int(query.get("position", "-1")))
        raise _Error(400, "UnsupportedOperation", f"{self.command} {query} is not served here")

    def _read(self, target: Path) -> None:
        if not target.is_file():
            raise _Error(404, "BlobNotFound", "The specified blob does not exist.")
        data = target.read_bytes()
        headers = {
            "ETag": _etag(data), "Last-Modified": _http_date(target),
            "x-ms-blob-type": "BlockBlob", "x-ms-resource-type": "file",
            "x-ms-creation-time": _http_date(target), "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if self.command == "HEAD":
            return self._send(200, b"", headers, length=len(data))
        wanted = self.headers.get("x-ms-range") or self.headers.get("Range")
        if wanted is None:
            return self._send(200, data, headers)
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
        if match is None:
            raise _Error(400, "InvalidHeaderValue", f"Bad range {wanted!r}")
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        if start >= len(data):
            raise _Error(416, "InvalidRange", "The range specified is invalid for the current "
                                              "size of the resource.")
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        self._send(206, data[start:end + 1], headers)

    def _create(self, target: Path) -> None:
        if self.headers.get("If-None-Match") == "*" and target.exists():
            raise _Error(409, "PathAlreadyExists", "The specified path already exists.")
        if target.is_dir():
            raise _Error(409, "PathConflict", "A directory exists at this path.")
        with self.server.lock:
            target.parent.mkdir(parents=True, exist_ok=True)  # a namespace: parents appear
            target.write_bytes(b"")
            self.server.pending[target] = bytearray()
        self._send(201, b"", {"ETag": _etag(b""), "Last-Modified": _http_date(target)})

    def _append(self, target: Path, position: int, body: bytes) -> None:
        with self.server.lock:
            if not target.is_file():
                raise _Error(404, "PathNotFound", "The specified path does not exist.")
            pending = self.server.pending.setdefault(target, bytearray())
            if position != len(pending):
                raise _Error(400, "InvalidAppendPosition", f"position {position} is not the end "
                                                           f"of the {len(pending)} bytes appended")
            pending += body
        self._send(202)

    def _flush(self, target: Path, position: int) -> None:
        with self.server.lock:
            if not target.is_file():
                raise _Error(404, "PathNotFound", "The specified path does not exist.")
            current = _etag(target.read_bytes())
            if self.headers.get("If-Match") not in (None, current):
                raise _Error(412, "ConditionNotMet", "The condition specified is not met.")
            pending = self.server.pending.get(target, bytearray())
            if position != len(pending):
                raise _Error(400, "InvalidFlushPosition", f"position {position} is not the "
                                                          f"{len(pending)} bytes appended")
            tmp = target.with_name(target.name + ".flushing")
            tmp.write_bytes(bytes(pending))
            os.replace(tmp, target)
            del self.server.pending[target]
        self._send(200, b"", {"ETag": _etag(bytes(pending)), "Last-Modified": _http_date(target)})

    def _list(self, fs_dir: Path, query: dict[str, str]) -> None:
        directory = query.get("directory", "").strip("/")
        top = fs_dir / directory if directory else fs_dir
        if not top.is_dir():
            raise _Error(404, "PathNotFound", "The specified path does not exist.")
        found = top.rglob("*") if query.get("recursive") == "true" else top.iterdir()
        paths = []
        for p in sorted(found):
            if p.name.endswith(".flushing"):
                continue
            entry = {"name": p.relative_to(fs_dir).as_posix(), "lastModified": _http_date(p),
                     "etag": "0x0", "owner": "$superuser", "group": "$superuser",
                     "permissions": "rw-r-----"}
            if p.is_dir():
                entry.update(isDirectory="true", contentLength="0")
            else:
                entry["contentLength"] = str(p.stat().st_size)
            paths.append(entry)
        self._send(200, json.dumps({"paths": paths}).encode(),
                   {"Content-Type": "application/json;charset=utf-8"})


class _DFSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, root: Path, account: str, key: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.root, self.account, self.key = root, account, base64.b64decode(key)
        self.lock = threading.Lock()
        self.pending: dict[Path, bytearray] = {}


def main() -> None:
    """Run the server until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    _DFSServer(args.port, args.root, args.account, args.key).serve_forever()


if __name__ == "__main__":
    main()
