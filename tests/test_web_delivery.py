"""Web delivery: gzip negotiated for HTML, JSON and JavaScript, never for audio or Range answers; static files
under content-hashed URLs cached for a year."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicerehearse.store import Comment, Store
from voicerehearse.web import create_app

from test_web_lists import login, seed

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


@pytest.fixture
def site(tmp_path):
    store = Store.open(tmp_path / "data")
    people = seed(store, sessions=3, trainees=1)
    with store.session() as db:
        from sqlalchemy import select

        from voicerehearse.store import Turn

        turn = db.scalar(select(Turn).order_by(Turn.id))
        for i in range(30):
            db.add(Comment(turn_id=turn.id, start_s=0.1 * i, text=f"comment number {i}: slow down a little here"))
        db.commit()
        turn_id, audio = turn.id, store.data_dir / turn.audio_path
    audio.parent.mkdir(parents=True, exist_ok=True)
    sf.write(audio, np.zeros(16000, dtype=np.float32), 16000)  # silence compresses very well: it must not be
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    client = app.test_client()
    login(client)
    return {"client": client, "trainee": people[0], "turn": turn_id}


def _get(client, path, **headers):
    return client.get(path, headers=headers)


@pytest.mark.parametrize("kind", ["html", "json"])
def test_gzip_is_negotiated_for_pages_and_json(site, kind):
    client = site["client"]
    path = f"/trainees/{site['trainee']}" if kind == "html" else f"/api/turns/{site['turn']}/comments"
    plain = _get(client, path)
    packed = _get(client, path, **{"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2
    refused = _get(client, path, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_javascript_is_gzipped_too(site):
    r = _get(site["client"], "/static/replay.js", **{"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.data) == (STATIC / "replay.js").read_bytes()
    again = _get(site["client"], "/static/replay.js", **{"Accept-Encoding": "gzip"})
    assert again.data == r.data
    etag = r.headers["ETag"]
    assert etag.startswith('W/')  # another representation: a weak validator, which still revalidates
    assert _get(site["client"], "/static/replay.js", **{"Accept-Encoding": "gzip", "If-None-Match": etag}).status_code == 304


def test_audio_is_never_gzipped(site):
    path = f"/media/turns/{site['turn']}/audio"
    whole = _get(site["client"], path, **{"Accept-Encoding": "gzip"})
    assert whole.status_code == 200 and whole.mimetype == "audio/wav"
    assert "Content-Encoding" not in whole.headers
    part = _get(site["client"], path, **{"Accept-Encoding": "gzip", "Range": "bytes=100-199"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and len(part.data) == 100
    assert part.data == whole.data[100:200]


def test_static_urls_carry_the_content_hash_and_are_cached_for_a_year(site):
    client = site["client"]
    page = _get(client, "/").get_data(as_text=True)
    digest = hashlib.sha256((STATIC / "app.css").read_bytes()).hexdigest()[:12]
    url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page).group(1)
    assert url == f"/static/app.css?v={digest}"
    r = _get(client, url)
    assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE
    for stale in ("/static/app.css", "/static/app.css?v=000000000000"):  # no hash, or an old one: revalidate
        assert "immutable" not in _get(client, stale).headers.get("Cache-Control", ""), stale


def test_static_url_of_a_missing_file_has_no_hash(site, tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "other"), "SECRET_KEY": "test"})
    with app.test_request_context():
        assert app.jinja_env.globals["static_url"]("no-such.js") == "/static/no-such.js"
        assert app.jinja_env.globals["static_url"]("../web/__init__.py") == "/static/../web/__init__.py"
