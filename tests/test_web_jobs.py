"""Uploads go through the job queue when the server runs in the background mode `serve` uses."""

import io
import re

import numpy as np
import soundfile as sf

from synth import SR, noise, place, voice
from voicerehearse import jobs
from voicerehearse.accounts import add_user
from voicerehearse.settings import load_settings
from voicerehearse.web import create_app


def _wav(ok=True) -> bytes:
    if not ok:
        return b"not a recording at all"
    buf = io.BytesIO()
    sf.write(buf, place(4.0, (0.5, voice(3.0, syllable_hz=4))) + noise(4.0, -70), SR, format="WAV")
    return buf.getvalue()


def _client(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "BACKGROUND_IMPORTS": True})
    store = app.extensions["voicerehearse.store"]
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        db.commit()
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    c.post("/login", data={"username": "coach", "password": "coach-password", "csrf_token": token})
    return app, store, c


def _upload(c, data, name="call.wav"):
    page = c.get("/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return c.post("/import", data={"csrf_token": token, "trainee": "Robin", "channels": "mono",
                                   "recording": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_an_upload_is_queued_answered_at_once_and_stored_by_a_worker(tmp_path):
    app, store, c = _client(tmp_path)
    r = _upload(c, _wav())
    assert r.status_code == 303 and "/jobs/" in r.headers["Location"]
    job_url = r.headers["Location"]
    queued = c.get(job_url)
    assert queued.status_code == 200 and 'data-status="queued"' in queued.get_data(as_text=True)
    assert 'http-equiv="refresh"' in queued.get_data(as_text=True)
    assert c.get(job_url + ".json").get_json()["status"] == "queued"
    settings = load_settings(overrides={"job_poll_s": 0.05})
    assert jobs.run_worker(store, settings, once=True) == 1
    info = c.get(job_url + ".json").get_json()
    assert info["status"] == "done" and info["session_id"]
    done = c.get(job_url)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/sessions/{info['session_id']}")
    assert c.get(done.headers["Location"]).status_code == 200


def test_a_bad_upload_fails_its_job_with_one_line_shown_on_the_page(tmp_path):
    app, store, c = _client(tmp_path)
    job_url = _upload(c, _wav(ok=False)).headers["Location"]
    jobs.run_worker(store, load_settings(), once=True)
    page = c.get(job_url).get_data(as_text=True)
    assert 'data-status="failed"' in page and "not a readable audio file" in page


def test_job_pages_are_for_coaches_only(tmp_path):
    app, store, c = _client(tmp_path)
    job_url = _upload(c, _wav()).headers["Location"]
    anonymous = app.test_client()
    assert anonymous.get(job_url).status_code in (302, 401)
    assert c.get("/jobs/99999").status_code == 404
