"""A small Databricks workspace on loopback, for the dbfs:/ tests: the Files API (Unity Catalog
volumes) and the DBFS API, as databricks-sdk calls them, with the checks the workspace makes.

    python -m tests.storage.dbfs.workspace_server --root DIR --port N --token T

Files live on disk: ``/Volumes/<catalog>/<schema>/<volume>/...`` under ``DIR/Volumes``, DBFS
paths under ``DIR/dbfs``. A volume exists only if its directory does (tests make them).

* Files API: ``GET|HEAD /api/2.0/fs/files<path>`` (bytes, ``Content-Length``,
  ``Last-Modified``), ``PUT /api/2.0/fs/files<path>?overwrite=true|false`` (the body is the
  file; parents are created), ``GET /api/2.0/fs/directories<path>`` (``contents``, paged with
  ``page_size``/``next_page_token``). Paths outside an existing volume are 404 ``NOT_FOUND``.
* DBFS API: ``GET /api/2.0/dbfs/get-status|list|read`` and ``POST /api/2.0/dbfs/create``,
  ``add-block`` (base64 blocks of at most 1 MiB, as the service enforces), ``close``; a file
  written through a handle appears at ``close``.

Every request needs ``Authorization: Bearer <token>`` (401 otherwise), except the SDK's
discovery document ``/.well-known/databricks-config``; a ``X-Databricks-Workspace-Id`` header
must name this workspace. Errors are JSON
``{"error_code", "message"}``. Each request is logged to ``DIR/requests.log``.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import itertools
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["main"]

_BLOCK_LIMIT = 1 << 20
WORKSPACE_ID = "1234567890123456"


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Workspace

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: object, status: int = 200) -> None:
        self._send(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        with open(self.server.root / "requests.log", "a", encoding="utf-8") as log:
            log.write(f"{self.command} {parts.path}\n")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if parts.path == "/.well-known/databricks-config":  # public: the SDK's discovery
                return self._json({"oidc_endpoint": f"{self.server.base}/oidc",
                                   "workspace_id": WORKSPACE_ID, "cloud": "aws"})
            if self.headers.get("Authorization") != f"Bearer {self.server.token}":
                raise _Error(401, "UNAUTHENTICATED", "Invalid access token.")
            given_id = self.headers.get("X-Databricks-Workspace-Id")
            if given_id not in (None, WORKSPACE_ID):
                raise _Error(400, "INVALID_PARAMETER_VALUE", f"Not workspace {given_id}")
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self._route(unquote(parts.path), query, body)
        except _Error as e:
            self._json({"error_code": e.code, "message": e.message}, e.status)

    do_GET = do_HEAD = do_PUT = do_POST = _dispatch

    # -- routes -----------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str], body: bytes) -> None:
        if path == "/_fake/ready":
            return self._json({})
        if path.startswith("/api/2.0/fs/files/"):
            return self._files(path[len("/api/2.0/fs/files"):], query, body)
        if path.startswith("/api/2.0/fs/directories/") and self.command == "GET":
            return self._directory(path[len("/api/2.0/fs/directories"):], query)
        if path.startswith("/api/2.0/dbfs/"):
            args = query if self.command == "GET" else json.loads(body or b"{}")
            return self._dbfs(path[len("/api/2.0/dbfs/"):], args)
        raise _Error(404, "ENDPOINT_NOT_FOUND", f"No API found for {self.command} {path}")

    def _volume_path(self, path: str) -> Path:
        parts = path.strip("/").split("/")
        if parts[0] != "Volumes" or len(parts) < 4 or ".." in parts:
            raise _Error(400, "INVALID_PARAMETER_VALUE",
                         f"Path {path!r} is not in a Unity Catalog volume (/Volumes/c/s/v/...)")
        volume = self.server.root.joinpath(*parts[:4])
        if not volume.is_dir():
            raise _Error(404, "NOT_FOUND", f"Volume /{'/'.join(parts[:4])} does not exist.")
        return self.server.root.joinpath(*parts)

    def _files(self, path: str, query: dict[str, str], body: bytes) -> None:
        target = self._volume_path(path)
        if self.command in ("GET", "HEAD"):
            if not target.is_file():
                raise _Error(404, "NOT_FOUND", f"The file {path} does not exist.")
            data = target.read_bytes()
            headers = {"Content-Type": "application/octet-stream",
                       "Last-Modified": email.utils.formatdate(target.stat().st_mtime,
                                                               usegmt=True)}
            return self._send(200, data, headers)
        if self.command == "PUT":
            if target.exists() and query.get("overwrite") != "true":
                raise _Error(409, "ALREADY_EXISTS", f"The file {path} already exists.")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.uploading")
            tmp.write_bytes(body)
            os.replace(tmp, target)
            return self._send(204)
        raise _Error(405, "BAD_REQUEST", f"{self.command} on a file")

    def _directory(self, path: str, query: dict[str, str]) -> None:
        target = self._volume_path(path)
        if not target.is_dir():
            raise _Error(404, "NOT_FOUND", f"The directory {path} does not exist.")
        entries = sorted(p for p in target.iterdir() if not p.name.endswith(".uploading"))
        start = int(query.get("page_token", "0"))
        size = min(int(query.get("page_size", "1000")), 1000)
        page = entries[start:start + size]
        out: dict[str, object] = {"contents": [
            {"path": "/" + p.relative_to(self.server.root).as_posix(), "name": p.name,
             "is_directory": p.is_dir(), **({} if p.is_dir() else {
                 "file_size": p.stat().st_size,
                 "last_modified": int(p.stat().st_mtime * 1000)})}
            for p in page
        ]}
        if start + size < len(entries):
            out["next_page_token"] = str(start + size)
        self._json(out)

    # -- DBFS -------------------------------------------------------------------------------

    def _dbfs_path(self, path: object) -> Path:
        if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/"):
            raise _Error(400, "INVALID_PARAMETER_VALUE", f"Path must be absolute: {path!r}")
        return self.server.root / "dbfs" / path.strip("/")

    def _info(self, p: Path) -> dict[str, object]:
        return {"path": "/" + p.relative_to(self.server.root / "dbfs").as_posix(),
                "is_dir": p.is_dir(), "file_size": 0 if p.is_dir() else p.stat().st_size,
                "modification_time": int(p.stat().st_mtime * 1000)}

    def _dbfs(self, op: str, args: dict[str, object]) -> None:
        server = self.server
        if op in ("get-status", "list", "read", "create"):
            target = self._dbfs_path(args.get("path"))
            if op != "create" and not target.exists():
                raise _Error(404, "RESOURCE_DOES_NOT_EXIST",
                             f"No file or directory exists on path {args.get('path')}.")
        if op == "get-status":
            return self._json(self._info(target))
        if op == "list":
            items = sorted(target.iterdir()) if target.is_dir() else [target]
            return self._json({"files": [self._info(p) for p in items]})
        if op == "read":
            if target.is_dir():
                raise _Error(400, "INVALID_PARAMETER_VALUE", f"{args['path']} is a directory")
            offset, length = int(str(args.get("offset", 0))), int(str(args.get("length", 0)))
            if length > _BLOCK_LIMIT:
                raise _Error(400, "MAX_READ_SIZE_EXCEEDED", "length must be at most 1 MB")
            with open(target, "rb") as f:
                f.seek(offset)
                data = f.read(length or _BLOCK_LIMIT)
            return self._json({"bytes_read": len(data),
                               "data": base64.b64encode(data).decode()})
        if op == "create":
            if target.exists() and not args.get("overwrite"):
                raise _Error(400, "RESOURCE_ALREADY_EXISTS", f"{args['path']} already exists.")
            with server.lock:
                handle = next(server.handles)
                server.open[handle] = (target, bytearray())
            return self._json({"handle": handle})
        if op in ("add-block", "close"):
            with server.lock:
                entry = server.open.get(int(str(args.get("handle"))))
                if entry is None:
                    raise _Error(400, "INVALID_PARAMETER_VALUE", "Invalid handle.")
                if op == "add-block":
                    data = base64.b64decode(str(args.get("data")), validate=True)
                    if len(data) > _BLOCK_LIMIT:
                        raise _Error(400, "MAX_BLOCK_SIZE_EXCEEDED",
                                     "A block must be at most 1 MB.")
                    entry[1].extend(data)
                    return self._json({})
                del server.open[int(str(args["handle"]))]
            target, data = entry
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.uploading")
            tmp.write_bytes(bytes(data))
            os.replace(tmp, target)
            return self._json({})
        raise _Error(404, "ENDPOINT_NOT_FOUND", f"No DBFS operation {op!r}")


class _Workspace(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, root: Path, token: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.root, self.token = root, token
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.lock = threading.Lock()
        self.handles = itertools.count(1)
        self.open: dict[int, tuple[Path, bytearray]] = {}


def main() -> None:
    """Run the server until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    (args.root / "dbfs").mkdir(parents=True, exist_ok=True)
    (args.root / "Volumes").mkdir(parents=True, exist_ok=True)
    _Workspace(args.port, args.root, args.token).serve_forever()


if __name__ == "__main__":
    main()
