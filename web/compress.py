"""gzip for the text the server sends (HTML, JSON, JavaScript, CSS, SVG, WebVTT) when the client accepts it.

Never for audio, nor for a Range (206) answer, a streamed body, or one already encoded. Static files are
compressed once per file version and the result kept (they are served again and again); pages and JSON are
compressed per response (level 6: ~4x smaller HTML/JSON for well under a millisecond per 100 KB).

>>> from flask import Flask
>>> app = Flask(__name__); init_app(app)
>>> _ = app.get("/page")(lambda: "<p>hello</p>" * 200)
>>> r = app.test_client().get("/page", headers={"Accept-Encoding": "gzip"})
>>> r.headers["Content-Encoding"], r.headers["Vary"], len(r.data) < 200
('gzip', 'Accept-Encoding', True)
"""

from __future__ import annotations

import gzip
import os
import threading

from flask import request

COMPRESSIBLE = frozenset({"text/html", "application/json", "text/javascript", "application/javascript",
                          "text/css", "image/svg+xml", "text/vtt", "text/plain", "text/csv"})
MIN_BYTES = 512  # smaller bodies gain nothing from compression
LEVEL = 6  # zlib's default: most of level 9's gain at a fraction of its time
STATIC_CACHE_FILES = 64  # compressed static files kept in memory (per app)


class _StaticCache:
    """Compressed static files by (path, size, mtime): compressed once per version of a file."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[tuple, bytes] = {}

    def get(self, key: tuple, body: bytes) -> bytes:
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = gzip.compress(body, compresslevel=LEVEL, mtime=0)
            with self._lock:
                if len(self._items) >= STATIC_CACHE_FILES:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = found
        return found


def _accepts_gzip() -> bool:
    accepted = request.accept_encodings
    return accepted["gzip"] > 0 or ("gzip" not in accepted and accepted["*"] > 0)


def _static_key(response) -> tuple | None:
    """(file, size, mtime) of a static file being sent, so its compressed form can be reused."""
    path = getattr(getattr(response.response, "file", None), "name", None)
    if not isinstance(path, str):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return path, st.st_size, st.st_mtime_ns


def compress(response, cache: _StaticCache | None = None):
    """The response gzipped when that is wanted and allowed; otherwise unchanged."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")  # caches keep the two forms apart
    if (response.status_code != 200 or "Content-Encoding" in response.headers or "Range" in request.headers
            or response.is_streamed and not response.direct_passthrough or not _accepts_gzip()):
        return response
    key = _static_key(response) if response.direct_passthrough else None
    response.direct_passthrough = False  # a file sent by send_file: read it (static files are small)
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    packed = cache.get(key, body) if cache is not None and key is not None else \
        gzip.compress(body, compresslevel=LEVEL, mtime=0)
    response.set_data(packed)
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:  # another representation of the same resource: a weak validator still matches
        response.set_etag(etag, weak=True)
    return response


def init_app(app) -> None:
    cache = _StaticCache()

    @app.after_request
    def gzip_text(response):
        if not app.config.get("COMPRESS", True):
            return response
        return compress(response, cache if request.endpoint == "static" else None)
