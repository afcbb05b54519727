"""Static files with their content in their URL: ``static_url("app.css")`` gives ``/static/app.css?v=<hash>``,
and an answer to such a URL may be cached for a year (``immutable``): a changed file gets a new URL.

The hash is the file's SHA-256 (first ``HASH_CHARS`` hex digits), computed once per file per app. A request
whose ``v`` does not match the file (an old page asking after an upgrade) is answered with the current file
and the default ``no-cache``, never cached for long.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import request, url_for

HASH_CHARS = 12
IMMUTABLE = "public, max-age=31536000, immutable"


class AssetHashes:
    """The content hash of each static file, read once."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        self._lock = threading.Lock()
        self._hashes: dict[str, str | None] = {}

    def of(self, filename: str) -> str | None:
        with self._lock:
            if filename in self._hashes:
                return self._hashes[filename]
        path = (self.folder / filename).resolve()
        digest = None
        if path.is_relative_to(self.folder) and path.is_file():
            h = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 16), b""):
                    h.update(block)
            digest = h.hexdigest()[:HASH_CHARS]
        with self._lock:
            self._hashes[filename] = digest
        return digest


def init_app(app) -> None:
    hashes = AssetHashes(app.static_folder)
    app.extensions["voicerehearse.asset_hashes"] = hashes

    def static_url(filename: str) -> str:
        """The URL of a static file, carrying its content hash (``?v=``) when the file exists."""
        digest = hashes.of(filename)
        return url_for("static", filename=filename, **({"v": digest} if digest else {}))

    app.jinja_env.globals["static_url"] = static_url

    @app.after_request
    def cache_hashed_assets(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            wanted = request.args.get("v")
            if wanted and wanted == hashes.of(filename):
                response.headers["Cache-Control"] = IMMUTABLE
        return response
