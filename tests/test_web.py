"""The coach's web report through Flask's test client: every route, permissions, CSRF, errors, Range, traversal,
escaping. Each test builds its own app on a temp data directory with a session from a synthetic take."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from synth import SR, noise, place, voice
from voicerehearse.store import PracticeSession, Store, Turn, get_or_create_trainee
from voicerehearse.web import create_app
from voicerehearse.accounts import add_user
from voicerehearse.sessions import add_session

WORDS = "calm down you paid late that is on you just this once".split()


def make_take(folder: Path) -> dict:
    """A synthetic rehearsal turn: the customer's line bleeding in, a loud reply barging in at 2.6 s, timed words."""
    from voicerehearse.pipeline import analyze_file, measure_baseline
    from voicerehearse.schema import analysis_record
    from voicerehearse.types import Transcript, Word

    folder.mkdir(parents=True, exist_ok=True)
    customer = voice(2.7, f0=210, level_db=-20, syllable_hz=4, seed=3)
    sf.write(folder / "prompt.wav", customer, SR)
    take = place(7.0, (0.3, customer * 0.1), (2.6, voice(3.4, f0=190, level_db=-10, syllable_hz=5, seed=4)),
                 (0.0, noise(7.0, -70)))
    sf.write(folder / "take.wav", take, SR)
    calm = place(5.0, (0.3, voice(4.0, f0=150, level_db=-26, syllable_hz=4, seed=5)), (0.0, noise(5.0, -70)))
    sf.write(folder / "baseline.wav", calm, SR)
    words = tuple(Word(w, round(2.6 + i * 0.3, 2), round(2.85 + i * 0.3, 2), 1.0) for i, w in enumerate(WORDS))
    analysis = analyze_file(folder / "take.wav", baseline=measure_baseline(folder / "baseline.wav"),
                            transcript=Transcript("file", None, " ".join(WORDS), words),
                            prompt_path=folder / "prompt.wav", prompt_start_s=0.3)
    return {"audio": folder / "take.wav", "record": analysis_record(analysis),
            "customer_text": "I paid two days late and you charged me <b>twenty</b> dollars!", "prompt_start_s": 0.3}


@pytest.fixture(scope="session")
def take(tmp_path_factory):
    return make_take(tmp_path_factory.mktemp("take"))


def seed(data_dir: Path, take: dict, url: str = "") -> dict:
    """Two trainees (Dana with the synthetic session, Sam with one), a coach and two trainee logins, in the store
    at ``url`` (default: SQLite in ``data_dir``)."""
    store = Store.open(data_dir, url=url)
    dana = add_session(store, trainee="Dana <script>x</script>", scenario_id="late_fee", scenario_title="Late-fee waiver",
                       source="practice", turns=[take])
    sam = add_session(store, trainee="Sam", scenario_id="late_fee", scenario_title="Late-fee waiver",
                      source="practice", turns=[take])
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        add_user(db, "dana", "dana-password", get_or_create_trainee(db, "Dana <script>x</script>"))
        add_user(db, "sam", "sam-password", get_or_create_trainee(db, "Sam"))
        dana_turn = db.scalar(select(Turn).where(Turn.session_id == dana)).id
        sam_turn = db.scalar(select(Turn).where(Turn.session_id == sam)).id
        dana_id = db.get(PracticeSession, dana).trainee_id
        sam_id = db.get(PracticeSession, sam).trainee_id
        db.commit()
    return {"store": store, "dana_session": dana, "sam_session": sam, "dana_turn": dana_turn, "sam_turn": sam_turn,
            "dana": dana_id, "sam": sam_id}


@pytest.fixture
def env(tmp_path, take, database_url):
    """The seeded app, on SQLite and (second variant) on PostgreSQL."""
    ids = seed(tmp_path / "data", take, database_url)
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
                      "SECRET_KEY": "test"})
    ids["app"] = app
    return ids


def csrf_of(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def login(client, user="coach", password=None) -> str:
    token = csrf_of(client)
    r = client.post("/login", data={"username": user, "password": password or f"{user}-password", "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    fresh = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    assert fresh != token  # a new session and token after logging in
    return fresh


@pytest.fixture
def coach(env):
    client = env["app"].test_client()
    client.token = login(client)
    return client


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize("path", ["/", "/trainees/1", "/trainees/1/progress", "/sessions/1", "/import",
                                  "/sessions/1/export.json", "/media/turns/1/audio"])
def test_pages_need_a_login(env, path):
    r = env["app"].test_client().get(path)
    assert r.status_code == 302 and r.location.startswith("/login")


def test_api_without_login_is_a_json_401(env):
    r = env["app"].test_client().get(f"/api/turns/{env['dana_turn']}/comments")
    assert r.status_code == 401
    assert r.get_json()["error"]["status"] == 401


def test_wrong_password_is_refused(env):
    client = env["app"].test_client()
    token = csrf_of(client)
    r = client.post("/login", data={"username": "coach", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "wrong password" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_passwords_are_hashed(env):
    from voicerehearse.store import User

    with env["store"].session() as db:
        user = db.scalar(select(User).where(User.username == "coach"))
        assert user.password_hash != "coach-password" and user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_login_redirects_only_to_local_pages(env):
    client = env["app"].test_client()
    token = csrf_of(client)
    r = client.post("/login?next=//evil.example/x", data={"username": "coach", "password": "coach-password",
                                                          "csrf_token": token})
    assert r.location == "/"


def test_logout_needs_csrf_and_ends_the_session(coach):
    assert coach.post("/logout").status_code == 400
    assert coach.post("/logout", data={"csrf_token": coach.token}).status_code == 302
    assert coach.get("/").status_code == 302


def test_coach_sees_every_trainee(env, coach):
    page = coach.get("/").get_data(as_text=True)
    assert "Sam" in page and "Dana &lt;script&gt;x&lt;/script&gt;" in page


def test_trainee_sees_only_their_own_sessions(env):
    client = env["app"].test_client()
    token = login(client, "sam")
    page = client.get("/").get_data(as_text=True)
    assert "Sam" in page and "Dana" not in page
    assert client.get(f"/sessions/{env['sam_session']}").status_code == 200
    for path in (f"/sessions/{env['dana_session']}", f"/trainees/{env['dana']}", f"/trainees/{env['dana']}/progress",
                 f"/media/turns/{env['dana_turn']}/audio", f"/api/turns/{env['dana_turn']}/comments",
                 f"/api/turns/{env['dana_turn']}/contour", f"/sessions/{env['dana_session']}/export.json"):
        assert client.get(path).status_code == 404, path
    # trainees read comments on their own turns but do not write them, nor import
    assert client.get(f"/api/turns/{env['sam_turn']}/comments").status_code == 200
    r = client.post(f"/api/turns/{env['sam_turn']}/comments", json={"start_s": 1, "text": "x"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and r.get_json()["error"]["status"] == 403
    assert client.get("/import").status_code == 403


# ---------------------------------------------------------------- pages


def test_every_page_renders_for_a_coach(env, coach):
    for path in ("/", f"/trainees/{env['dana']}", f"/trainees/{env['dana']}/progress",
                 f"/sessions/{env['dana_session']}", "/import", "/health"):
        assert coach.get(path).status_code == 200, path


def test_session_page_shows_verdict_reasons_flags_and_words(env, coach, take):
    page = coach.get(f"/sessions/{env['dana_session']}").get_data(as_text=True)
    assert "pill aggressive" in page
    sure = take["record"]["delivery"]["confidence"]
    assert 0.34 <= sure <= 1 and f'{100 * sure:.0f} % sure</span>' in page  # how sure the verdict is, beside it
    assert "interruption" in page and "raised voice" in page
    assert 'class="word" data-start="2.6"' in page
    assert 'data-seek="2.6' in page  # flags seek
    assert page.count("<svg") >= 3  # pace / loudness / pitch per turn
    assert "wavesurfer" in page or 'id="vendor-missing"' in page
    # the customer's text is escaped, never raw HTML
    assert "<b>twenty</b>" not in page and "&lt;b&gt;twenty&lt;/b&gt;" in page


def test_session_page_without_waveform_assets_says_so(env, coach):
    env["app"].config["VENDOR_PRESENT"] = False
    page = coach.get(f"/sessions/{env['dana_session']}").get_data(as_text=True)
    assert 'id="vendor-missing"' in page and "wavesurfer.min.js" not in page
    assert "controls" in page  # the plain audio player


def test_progress_page_lists_sessions_with_metrics(env, coach):
    page = coach.get(f"/trainees/{env['dana']}/progress").get_data(as_text=True)
    assert "Pace (mean per session)" in page and "aggressive" in page
    assert f"/sessions/{env['dana_session']}" in page


def test_contour_has_tracks_and_baseline_band(env, coach):
    c = coach.get(f"/api/turns/{env['dana_turn']}/contour").get_json()
    assert c["loudness"] and c["pitch"]
    lo, hi = c["baseline"]["loudness_band"]
    assert lo < c["baseline"]["loudness_db"] < hi
    assert c["baseline"]["pitch_hz"] == pytest.approx(150, rel=0.1)


# ---------------------------------------------------------------- errors


def test_error_page_and_json_shape(env, coach):
    r = coach.get("/sessions/999")
    assert r.status_code == 404 and 'data-status="404"' in r.get_data(as_text=True)
    r = coach.get("/api/turns/999/comments")
    assert r.status_code == 404
    assert r.get_json() == {"error": {"status": 404, "title": "Not Found", "message": "No turn 999."}}
    r = coach.get("/sessions/999", headers={"Accept": "application/json"})
    assert r.get_json()["error"]["status"] == 404


def test_unexpected_errors_use_the_same_shape(env):
    app = create_app({"DATA_DIR": env["app"].config["DATA_DIR"], "DATABASE_URL": env["app"].config["DATABASE_URL"],
                      "SECRET_KEY": "test"})

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("kaput")

    client = app.test_client()
    login(client)
    r = client.get("/api/boom")
    assert r.status_code == 500 and r.get_json()["error"]["status"] == 500
    assert "kaput" not in r.get_data(as_text=True)


# ---------------------------------------------------------------- CSRF


def test_posts_without_a_csrf_token_are_rejected(env, coach):
    url = f"/api/turns/{env['dana_turn']}/comments"
    r = coach.post(url, json={"start_s": 1.0, "text": "hi"})
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]["message"]
    r = coach.post(url, json={"start_s": 1.0, "text": "hi"}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 400
    assert coach.get(url).get_json()["comments"] == []
    other = env["app"].test_client()
    assert other.post("/login", data={"username": "coach", "password": "coach-password"}).status_code == 400


# ---------------------------------------------------------------- comments


def test_comment_add_edit_delete(env, coach):
    url = f"/api/turns/{env['dana_turn']}/comments"
    h = {"X-CSRF-Token": coach.token}
    r = coach.post(url, json={"start_s": 2.6, "end_s": 3.1, "text": "Let them finish first."}, headers=h)
    assert r.status_code == 201
    c = r.get_json()["comment"]
    assert (c["start_s"], c["end_s"], c["author"]) == (2.6, 3.1, "coach")
    r = coach.patch(f"/api/comments/{c['id']}", json={"text": "Wait for the customer to finish."}, headers=h)
    assert r.get_json()["comment"]["text"] == "Wait for the customer to finish."
    r = coach.patch(f"/api/comments/{c['id']}", json={"start_s": 1.0, "end_s": None}, headers=h)
    assert (r.get_json()["comment"]["start_s"], r.get_json()["comment"]["end_s"]) == (1.0, None)
    assert [x["id"] for x in coach.get(url).get_json()["comments"]] == [c["id"]]
    assert "Wait for the customer" in coach.get(f"/sessions/{env['dana_session']}").get_data(as_text=True)
    assert coach.delete(f"/api/comments/{c['id']}", headers=h).get_json() == {"deleted": c["id"]}
    assert coach.get(url).get_json()["comments"] == []
    assert coach.delete(f"/api/comments/{c['id']}", headers=h).status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"start_s": 1.0}, "needs some text"),
    ({"start_s": 1.0, "text": "   "}, "needs some text"),
    ({"text": "x"}, "'start_s' is required"),
    ({"start_s": "soon", "text": "x"}, "must be a number"),
    ({"start_s": -1, "text": "x"}, "at least 0"),
    ({"start_s": 3, "end_s": 2, "text": "x"}, "must not be before"),
    ({"start_s": 99, "text": "x"}, "within the recording"),
    ({"start_s": 1, "text": "x" * 2001}, "at most 2000"),
    ([1, 2], "JSON object"),
])
def test_bad_comments_get_clear_json_errors(env, coach, body, message):
    r = coach.post(f"/api/turns/{env['dana_turn']}/comments", json=body, headers={"X-CSRF-Token": coach.token})
    assert r.status_code == 400
    assert message in r.get_json()["error"]["message"]


def test_comment_script_is_never_raw(env, coach):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    r = coach.post(f"/api/turns/{env['dana_turn']}/comments", json={"start_s": 1.0, "text": evil},
                   headers={"X-CSRF-Token": coach.token})
    assert r.status_code == 201
    for path in (f"/sessions/{env['dana_session']}", f"/sessions/{env['dana_session']}/export.html"):
        page = coach.get(path).get_data(as_text=True)
        assert evil not in page and "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page or "\\u003cscript\\u003e" in page
    # the JSON island escapes < and > too, so the text cannot close the <script> tag
    page = coach.get(f"/sessions/{env['dana_session']}").get_data(as_text=True)
    island = re.search(r'<script type="application/json" id="replay-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in island


def test_trainees_cannot_edit_or_delete_comments_even_with_a_valid_token(env, coach):
    url = f"/api/turns/{env['dana_turn']}/comments"
    made = coach.post(url, json={"start_s": 1.0, "text": "Coach's note."}, headers={"X-CSRF-Token": coach.token})
    comment_id = made.get_json()["comment"]["id"]
    for trainee, expected in (("sam", 403), ("dana", 403)):  # only coaches write comments, whoever's turn it is
        client = env["app"].test_client()
        h = {"X-CSRF-Token": login(client, trainee)}
        assert client.patch(f"/api/comments/{comment_id}", json={"text": "changed"}, headers=h).status_code == expected
        assert client.delete(f"/api/comments/{comment_id}", headers=h).status_code == expected
    assert [c["text"] for c in coach.get(url).get_json()["comments"]] == ["Coach's note."]


# ---------------------------------------------------------------- media


def test_audio_is_served_whole_and_by_range(env, coach):
    url = f"/media/turns/{env['dana_turn']}/audio"
    size = env["store"].resolve_audio(_audio_path(env)).stat().st_size
    r = coach.get(url)
    assert r.status_code == 200 and r.headers["Accept-Ranges"] == "bytes" and len(r.data) == size
    assert r.mimetype == "audio/wav"
    r = coach.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes 100-199/{size}" and len(r.data) == 100
    r = coach.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    r = coach.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"


def _audio_path(env) -> str:
    with env["store"].session() as db:
        return db.get(Turn, env["dana_turn"]).audio_path


@pytest.mark.parametrize("evil", ["../secret.wav", "audio/../../secret.wav", "{outside}", "voicerehearse.db",
                                  "audio/%2e%2e/%2e%2e/secret.wav", "secret_key"])
def test_stored_paths_outside_the_audio_folder_are_never_served(env, coach, tmp_path, evil):
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF top secret")
    evil = evil.replace("{outside}", str(secret))
    with env["store"].session() as db:
        db.get(Turn, env["dana_turn"]).audio_path = evil
        db.commit()
    r = coach.get(f"/media/turns/{env['dana_turn']}/audio")
    assert r.status_code == 404 and b"top secret" not in r.data
    assert coach.get(f"/sessions/{env['dana_session']}").status_code == 200  # the page still renders


@pytest.mark.parametrize("url", ["/media/turns/../../secret.wav", "/media/turns/%2e%2e/%2e%2e/etc/passwd",
                                 "/media/..%2f..%2fvoicerehearse.db", "/media//etc/passwd",
                                 "/static/../voicerehearse.db", "/static/..%2f..%2fsecret_key",
                                 "/media/turns/1/audio/../../../../etc/passwd"])
def test_traversal_urls_find_nothing(env, coach, url):
    r = coach.get(url)
    assert r.status_code in (404, 308) and b"root:" not in r.data and b"SQLite" not in r.data
    if r.status_code == 308:
        assert coach.get(url, follow_redirects=True).status_code == 404


# ---------------------------------------------------------------- exports


def test_exports_in_every_format(env, coach):
    base = f"/sessions/{env['dana_session']}/export"
    r = coach.get(base + ".json")
    body = r.get_json()
    assert body["schema"] == "voicerehearse.report/1"
    assert body["turns"][0]["analysis"]["schema"] == "voicerehearse.analysis/1"
    assert "attachment" in r.headers["Content-Disposition"]
    r = coach.get(base + ".vtt")
    assert r.mimetype == "text/vtt" and r.get_data(as_text=True).startswith("WEBVTT")
    r = coach.get(base + ".html")
    assert r.mimetype == "text/html" and "Late-fee waiver" in r.get_data(as_text=True)
    from voicerehearse.report import WRITERS

    for fmt, writer in WRITERS.items():  # every registered writer is served, with its own type
        r = coach.get(f"{base}.{writer.extension}")
        assert r.status_code == 200 and r.mimetype == writer.mimetype, fmt
    assert coach.get(base + ".pdf").get_data()[:5] == b"%PDF-"
    assert coach.get(base + ".doc").status_code == 404


# ---------------------------------------------------------------- import


def _wav_bytes(channels: int) -> bytes:
    y = place(4.0, (0.5, voice(3.0, f0=160, level_db=-20, syllable_hz=4, seed=7)), (0.0, noise(4.0, -70)))
    if channels == 2:
        other = place(4.0, (0.2, voice(0.8, f0=220, level_db=-22, syllable_hz=4, seed=8)), (0.0, noise(4.0, -70)))
        y = np.stack([y, other], axis=1)
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="WAV")
    return buf.getvalue()


@pytest.mark.parametrize("channels, mode", [(1, "mono"), (2, "agent0")])
def test_import_a_recording(env, coach, channels, mode):
    r = coach.post("/import", data={"csrf_token": coach.token, "trainee": "Robin", "title": "Billing call",
                                    "channels": mode, "recording": (io.BytesIO(_wav_bytes(channels)), "call.wav")},
                   content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    page = coach.get(r.location).get_data(as_text=True)
    assert "Billing call" in page and "Robin" in page
    data = json.loads(re.search(r'id="replay-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["turns"][0]["peaks"]) == channels
    assert data["turns"][0]["channels"] == (["agent", "customer"] if channels == 2 else [])
    with env["store"].session() as db:
        session = db.scalar(select(PracticeSession).where(PracticeSession.source == "import"))
        turn = session.turns[0]
        assert turn.analysis["channels"] == channels and turn.label in ("aggressive", "passive", "assertive")
        assert (turn.analysis["stereo"] is not None) == (channels == 2)
        assert env["store"].resolve_audio(turn.audio_path).is_file()
    assert not list((env["store"].data_dir / "audio" / "uploads").iterdir())  # no temp files left behind


@pytest.mark.parametrize("upload, data, status, message", [
    (None, {}, 400, "Choose a recording"),
    ((b"hello", "notes.txt"), {}, 415, "not a supported recording"),
    ((b"not audio at all", "call.wav"), {}, 422, "Could not analyse"),
    ("mono", {"trainee": ""}, 400, "whose recording"),
    ("mono", {"channels": "agent0"}, 422, "Could not analyse"),  # a mono file cannot be split into two sides
])
def test_import_errors_are_clear(env, coach, upload, data, status, message):
    form = {"csrf_token": coach.token, "trainee": "Robin", "channels": "mono", **data}
    if upload == "mono":
        form["recording"] = (io.BytesIO(_wav_bytes(1)), "call.wav")
    elif upload:
        form["recording"] = (io.BytesIO(upload[0]), upload[1])
    r = coach.post("/import", data=form, content_type="multipart/form-data")
    assert r.status_code == status
    assert message in r.get_data(as_text=True)


def test_import_size_limit(env, coach):
    env["app"].config["MAX_CONTENT_LENGTH"] = 1000
    r = coach.post("/import", data={"csrf_token": coach.token, "trainee": "Robin",
                                    "recording": (io.BytesIO(_wav_bytes(1)), "call.wav")},
                   content_type="multipart/form-data")
    assert r.status_code == 413 and "larger than the limit" in r.get_data(as_text=True)


def test_import_needs_csrf(env, coach):
    r = coach.post("/import", data={"trainee": "Robin", "recording": (io.BytesIO(_wav_bytes(1)), "call.wav")},
                   content_type="multipart/form-data")
    assert r.status_code == 400


# ---------------------------------------------------------------- config


def test_data_dir_defaults_to_the_cli_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEREHEARSE_DATA_DIR", str(tmp_path / "cli-data"))
    app = create_app({"TESTING": True})
    assert Path(app.config["DATA_DIR"]) == (tmp_path / "cli-data").resolve()
    assert (tmp_path / "cli-data" / "voicerehearse.db").is_file()


def test_secret_key_is_kept_per_data_dir(tmp_path):
    a = create_app({"DATA_DIR": str(tmp_path)})
    b = create_app({"DATA_DIR": str(tmp_path)})
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"] and len(a.config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_pages_send_a_strict_content_security_policy(env, coach):
    r = coach.get(f"/sessions/{env['dana_session']}")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # no inline executable script on the page: only the JSON data block
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.get_data(as_text=True), re.S)
    assert all('src="' in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)


def test_a_session_still_recording_renders(env, coach):
    """The rehearsal loop stores turns before they are analysed: pages show them as not analysed yet."""
    with env["store"].session() as db:
        trainee = get_or_create_trainee(db, "Sam")
        practice = PracticeSession(trainee=trainee, scenario_id="x", scenario_title="Half done", status="recording")
        practice.turns.append(Turn(index=0, audio_path="audio/none/turn-0.wav"))
        db.add(practice)
        db.commit()
        sid, tid = practice.id, practice.turns[0].id
    page = coach.get(f"/sessions/{sid}").get_data(as_text=True)
    assert "not analysed" in page
    assert coach.get(f"/trainees/{env['sam']}/progress").status_code == 200
    assert coach.get(f"/api/turns/{tid}/contour").status_code == 404
    for fmt in ("json", "vtt", "html"):
        assert coach.get(f"/sessions/{sid}/export.{fmt}").status_code == 200


def test_import_uses_the_trainees_latest_baseline(env, coach, take):
    from voicerehearse.pipeline import measure_baseline
    from voicerehearse.store import BaselineRecord

    baseline = measure_baseline(take["audio"].parent / "baseline.wav")
    with env["store"].session() as db:
        sam = get_or_create_trainee(db, "Sam")
        db.add(BaselineRecord(trainee=sam, audio_path="audio/baselines/sam.wav",
                              measures=BaselineRecord.measures_of(baseline)))
        db.commit()
    r = coach.post("/import", data={"csrf_token": coach.token, "trainee": "Sam", "channels": "mono",
                                    "recording": (io.BytesIO(_wav_bytes(1)), "call.wav")},
                   content_type="multipart/form-data")
    assert r.status_code == 303
    with env["store"].session() as db:
        turn = db.scalar(select(PracticeSession).where(PracticeSession.source == "import")).turns[0]
        assert turn.analysis["tone"]["baseline"] == "sam.wav" and turn.pitch_delta_st is not None


def test_the_route_list_is_the_one_tested_here(env):
    """A new route must come with tests: this list names every endpoint the tests above exercise."""
    endpoints = {rule.endpoint for rule in env["app"].url_map.iter_rules()}
    assert endpoints == {
        "static", "health", "auth.login", "auth.logout", "trainees.index", "trainees.trainee", "trainees.progress",
        "trainees.sessions",  # the filtered session list: tests/test_web_lists.py
        "replay.session_page", "replay.turn_contour", "comments.list_comments", "comments.add_comment",
        "comments.edit_comment", "comments.delete_comment", "media.turn_audio", "exports.export",
        "imports.import_form", "imports.import_recording",
        # the review workflow: tests/test_web_review.py
        "review.set_status", "review.get_scorecard", "review.save_scorecard", "review.reply",
        "review.calibration",  # tests/test_calibration.py
        "review.set_coach_label", "review.verdict_page",  # the coach's call: tests/test_team_verdict.py
        # background imports: tests/test_web_jobs.py
        "jobs.job_page", "jobs.job_json",
    }


def test_contour_of_a_two_channel_call_follows_the_agent(env, coach):
    r = coach.post("/import", data={"csrf_token": coach.token, "trainee": "Robin", "channels": "agent1",
                                    "recording": (io.BytesIO(_wav_bytes(2)), "call.wav")},
                   content_type="multipart/form-data")
    assert r.status_code == 303
    with env["store"].session() as db:
        turn_id = db.scalar(select(PracticeSession).where(PracticeSession.source == "import")).turns[0].id
    c = coach.get(f"/api/turns/{turn_id}/contour").get_json()
    # channel 1 (the agent here) speaks 0.2-1.0 s at 220 Hz; channel 0 speaks 0.5-3.5 s at 160 Hz
    assert c["loudness"] and max(t for t, _ in c["loudness"]) < 1.2
    assert 200 < sorted(hz for _, hz in c["pitch"])[len(c["pitch"]) // 2] < 240


def test_contour_follows_the_analysed_speech_not_the_bleed(tmp_path):
    """The plot uses the analysis' own speech segments, so the customer's line heard by the mic is not drawn."""
    from voicerehearse.settings import load_settings
    from voicerehearse.web.contour import contour

    path = tmp_path / "take.wav"
    sf.write(path, place(6.0, (0.3, voice(1.7, f0=220, level_db=-18, seed=1)), (3.0, voice(2.0, f0=150, seed=2))), SR)
    from voicerehearse.types import Span, ToneMetrics

    tone = ToneMetrics(None, None, None, None, None, None, None, None, "b.wav", baseline_loudness_db=-26.0,
                       baseline_pitch_hz=150.0)
    c = contour(path, (Span(3.0, 5.0),), tone, load_settings())
    assert c["loudness"] and c["pitch"]
    assert min(t for t, _ in c["loudness"]) >= 2.95 and min(t for t, _ in c["pitch"]) >= 2.95
    assert c["baseline"]["loudness_db"] == -26.0 and c["baseline"]["pitch_hz"] == 150.0
