"""A small Hugging Face Hub on loopback, for the hf:// tests: the endpoints huggingface_hub uses
to read and write dataset files, over real HTTP, with the checks the Hub makes.

    python -m tests.storage.hf.hub_server --root DIR --port N --token T [--read-token R]

Repositories are directories ``DIR/<org>/<name>/files`` (a test makes one with `create_repo`
and may put files there directly); ``DIR/<org>/<name>/COMMIT`` holds the current commit id.

Endpoints (``<repo>`` is ``<org>/<name>``; only dataset repositories):

* ``HEAD|GET /datasets/<repo>/resolve/<rev>/<path>``: ``X-Repo-Commit``, ``ETag`` (the git blob
  id) and ``Content-Length``; a file of `lfs_threshold` bytes or more is an LFS file: answered
  ``302`` to a signed URL on another host (the "CDN": the same server on 127.0.0.2), with
  ``X-Linked-Etag`` (its sha256) and ``X-Linked-Size``, as the Hub redirects to its CDN.
* ``GET /cdn/<repo>/<path>?sig=...``: the LFS file's bytes, if the signature matches and no
  ``Authorization`` header comes with it (a signed URL carries its own authorization; S3 refuses
  a request with both).
* ``GET /api/datasets/<repo>/tree/<rev>[/<path>]?recursive=true``: the tree listing.
* ``POST /api/datasets/<repo>/preupload/<rev>``: every file goes in "regular" mode (base64 in
  the commit), with the oid of the file already there so unchanged files are skipped.
* ``POST /api/datasets/<repo>/commit/<rev>``: the NDJSON commit (header, then ``file`` and
  ``deletedFile`` lines); checks ``parentCommit`` and moves the commit id.

Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``) and ``X-Error-Message``. Every request needs ``Authorization: Bearer
<token>`` (the repositories are private): none gives 401 ``RepoNotFound`` as on the Hub, another
token 401 "Invalid credentials in Authorization header"; `read_token` may read but not write
(403). Every request is logged to ``DIR/requests.log`` as ``METHOD path``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["create_repo", "git_blob_id", "main"]

_lock = threading.Lock()


def git_blob_id(data: bytes) -> str:
    """Git's id of a blob holding `data` (the Hub's ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def create_repo(root: Path, repo_id: str) -> Path:
    """Make an empty dataset repository `repo_id` under `root`; return its files directory."""
    files = root / repo_id / "files"
    files.mkdir(parents=True)
    (root / repo_id / "COMMIT").write_text(hashlib.sha1(repo_id.encode()).hexdigest())
    return files


class _Error(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HubServer

    def log_message(self, *args: object) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_length: int | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if content_length is None
                                              else content_length))
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
            self._route(unquote(parts.path), parse_qs(parts.query), body)
        except _Error as e:
            headers = {"X-Error-Message": e.message, "Content-Type": "application/json"}
            if e.code:
                headers["X-Error-Code"] = e.code
            self._send(e.status, json.dumps({"error": e.message}).encode(), headers)

    do_GET = do_HEAD = do_POST = _dispatch

    # -- checks ---------------------------------------------------------------------------

    def _auth(self, write: bool) -> None:
        given = self.headers.get("Authorization")
        if given is None:
            raise _Error(401, "RepoNotFound", "Repository not found")
        if given == f"Bearer {self.server.token}":
            return
        if given == f"Bearer {self.server.read_token}" and self.server.read_token:
            if write:
                raise _Error(403, None, "You don't have the rights to push to this repository")
            return
        raise _Error(401, None, "Invalid credentials in Authorization header")

    def _repo(self, org: str, name: str, rev: str) -> tuple[Path, str]:
        repo = self.server.root / org / name
        if not (repo / "files").is_dir():
            raise _Error(404, "RepoNotFound", "Repository not found")
        commit = (repo / "COMMIT").read_text()
        if rev not in ("main", commit):
            raise _Error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return repo, commit

    # -- routes ---------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        seg = path.strip("/").split("/")
        if path == "/_fake/ready":
            return self._json({"ok": True})
        if seg[:1] == ["cdn"] and len(seg) >= 4 and self.command in ("GET", "HEAD"):
            return self._cdn("/".join(seg[1:3]), "/".join(seg[3:]), query)
        if seg[:1] == ["datasets"] and len(seg) >= 6 and seg[3] == "resolve":
            self._auth(write=False)
            return self._resolve(seg[1], seg[2], seg[4], "/".join(seg[5:]))
        if seg[:2] == ["api", "datasets"] and len(seg) >= 6:
            org, name, action, rev, rest = seg[2], seg[3], seg[4], seg[5], "/".join(seg[6:])
            if action == "tree" and self.command == "GET":
                self._auth(write=False)
                return self._tree(org, name, rev, rest, query)
            if action == "preupload" and self.command == "POST":
                self._auth(write=True)
                return self._preupload(org, name, rev, body)
            if action == "commit" and self.command == "POST":
                self._auth(write=True)
                return self._commit(org, name, rev, body)
        raise _Error(404, None, f"Not found: {self.command} {path}")

    def _resolve(self, org: str, name: str, rev: str, rel: str) -> None:
        repo, commit = self._repo(org, name, rev)
        file = repo / "files" / rel
        if not rel or not file.is_file():
            raise _Error(404, "EntryNotFound", f"{rel} does not exist on {rev}")
        data = file.read_bytes()
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_id(data)}"',
                   "Accept-Ranges": "bytes"}
        if len(data) >= self.server.lfs_threshold:
            sig = self.server.sign(f"{org}/{name}/{rel}")
            headers.update({
                "Location": f"{self.server.cdn_base}/cdn/{org}/{name}/{quote(rel)}?sig={sig}",
                "X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"',
                "X-Linked-Size": str(len(data)),
            })
            return self._send(302, b"", headers)
        self._send(200, data, {**headers, "Content-Type": "application/octet-stream"})

    def _cdn(self, repo_id: str, rel: str, query: dict[str, list[str]]) -> None:
        if query.get("sig") != [self.server.sign(f"{repo_id}/{rel}")]:
            raise _Error(403, None, "Bad signature")
        if "Authorization" in self.headers:
            raise _Error(400, None, "Only one auth mechanism allowed")
        file = self.server.root / repo_id / "files" / rel
        if not file.is_file():
            raise _Error(404, None, "Gone")
        self._send(200, file.read_bytes(), {"Content-Type": "application/octet-stream"})

    def _tree(self, org: str, name: str, rev: str, rel: str,
              query: dict[str, list[str]]) -> None:
        repo, _ = self._repo(org, name, rev)
        files = repo / "files"
        top = files / rel if rel else files
        if not top.is_dir():
            raise _Error(404, "EntryNotFound", f"{rel} does not exist on {rev}")
        recursive = query.get("recursive") == ["true"] or query.get("recursive") == ["True"]
        paths = sorted(top.rglob("*") if recursive else top.iterdir())
        out = []
        for p in paths:
            entry_path = p.relative_to(files).as_posix()
            if p.is_dir():
                out.append({"type": "directory", "oid": "0" * 40, "path": entry_path})
            else:
                data = p.read_bytes()
                item = {"type": "file", "oid": git_blob_id(data), "size": len(data),
                        "path": entry_path}
                if len(data) >= self.server.lfs_threshold:
                    item["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                   "pointerSize": 134}
                out.append(item)
        self._json(out)

    def _preupload(self, org: str, name: str, rev: str, body: bytes) -> None:
        repo, _ = self._repo(org, name, rev)
        try:
            files = json.loads(body)["files"]
            answers = []
            for f in files:
                if not isinstance(f["path"], str) or not isinstance(f["size"], int):
                    raise TypeError(f)
                base64.b64decode(f["sample"], validate=True)
                existing = repo / "files" / f["path"]
                oid = git_blob_id(existing.read_bytes()) if existing.is_file() else None
                answers.append({"path": f["path"], "uploadMode": "regular",
                                "shouldIgnore": False, "oid": oid})
        except (ValueError, KeyError, TypeError) as e:
            raise _Error(400, None, f"Invalid preupload payload: {e!r}") from e
        self._json({"files": answers, "commitOid": (repo / "COMMIT").read_text()})

    def _commit(self, org: str, name: str, rev: str, body: bytes) -> None:
        if self.headers.get("Content-Type") != "application/x-ndjson":
            raise _Error(400, None, "A commit is sent as application/x-ndjson")
        with _lock:
            repo, commit = self._repo(org, name, rev)
            try:
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                header = lines[0]
                if header["key"] != "header" or not header["value"]["summary"]:
                    raise ValueError("the first line must be the header, with a summary")
                parent = header["value"].get("parentCommit")
                if parent is not None and parent != commit:
                    raise _Error(412, None, f"parentCommit {parent} is not the head {commit}")
                writes: dict[str, bytes | None] = {}
                for line in lines[1:]:
                    value = line["value"]
                    path = value["path"]
                    if path.startswith("/") or ".." in path.split("/"):
                        raise ValueError(f"invalid path {path!r}")
                    if line["key"] == "file":
                        if value.get("encoding") != "base64":
                            raise ValueError("file content must be base64")
                        writes[path] = base64.b64decode(value["content"], validate=True)
                    elif line["key"] == "deletedFile":
                        writes[path] = None
                    else:
                        raise ValueError(f"unexpected line {line['key']!r}: no LFS here")
            except (ValueError, KeyError, TypeError, IndexError) as e:
                raise _Error(400, None, f"Invalid commit payload: {e}") from e
            for path, data in writes.items():
                target = repo / "files" / path
                if data is None:
                    target.unlink(missing_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".partial")
                tmp.write_bytes(data)
                os.replace(tmp, target)
            new = hashlib.sha1(commit.encode() + body).hexdigest()
            (repo / "COMMIT").write_text(new)
        self._json({
            "success": True,
            "commitOid": new,
            "commitUrl": f"{self.server.base}/datasets/{org}/{name}/commit/{new}",
        })


class _HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, root: Path, token: str, read_token: str | None,
                 lfs_threshold: int, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.root, self.token, self.read_token = root, token, read_token
        self.lfs_threshold = lfs_threshold
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.cdn_base = f"http://127.0.0.2:{self.server_address[1]}"

    def sign(self, what: str) -> str:
        return hashlib.sha256(f"{self.token}:{what}".encode()).hexdigest()[:20]


def main() -> None:
    """Run the server until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--read-token")
    parser.add_argument("--lfs-threshold", type=int, default=16 << 10)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    settings = (args.root, args.token, args.read_token, args.lfs_threshold)
    cdn = _HubServer(args.port, *settings, host="127.0.0.2")
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    _HubServer(args.port, *settings).serve_forever()


if __name__ == "__main__":
    main()
