"""`voicerehearse serve`, `users add`, `import` and `demo` storing + serving the report (the server is stubbed)."""

from __future__ import annotations

import json

import re

import click
import pytest
import soundfile as sf
from click.testing import CliRunner
from sqlalchemy import select

from synth import SR, noise, place, voice
from voicerehearse.cli.demo import DEMO_PASSWORD, DEMO_USER, demo
from voicerehearse.cli.serve import import_cmd, report, serve, users
from voicerehearse.store import PracticeSession, Store, Trainee, User


@pytest.fixture
def cli():
    group = click.Group()
    for cmd in (serve, users, report, import_cmd, demo):
        group.add_command(cmd)
    return group


@pytest.fixture
def served(monkeypatch):
    """Record what would be served instead of blocking in waitress / the dev server."""
    calls = []
    import waitress
    from flask import Flask

    class FakeServer:
        def run(self):
            pass

        def close(self):
            pass

    def create_server(app, **kw):
        calls.append(("waitress", app, kw))
        return FakeServer()

    monkeypatch.setattr(waitress, "create_server", create_server)
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append(("flask", self, kw)))
    return calls


def test_users_add_coach_and_trainee(cli, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "s3cret-s3cret", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0 and "coach" in r.output
    r = runner.invoke(cli, ["users", "add", "dana", "--trainee", "Dana", "--data-dir", str(tmp_path)],
                      input="pw-dana-dana\npw-dana-dana\n")
    assert r.exit_code == 0 and "trainee login for Dana" in r.output
    with Store.open(tmp_path).session() as db:
        dana = db.scalar(select(User).where(User.username == "dana"))
        assert dana.role == "trainee" and db.get(Trainee, dana.trainee_id).name == "Dana"
        assert "pw-dana" not in dana.password_hash
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "again-again", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(cli, ["users", "list", "--data-dir", str(tmp_path)])
    assert "alex\tcoach" in r.output and "dana\ttrainee\tDana" in r.output


def test_passwords_need_ten_characters_unless_the_setting_says_otherwise(cli, tmp_path, monkeypatch):
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "123456789", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "at least 10 characters" in r.output and "Traceback" not in r.output
    config = tmp_path / "vr.toml"
    config.write_text("[store]\nmin_password_length = 16\n")
    monkeypatch.setenv("VOICEREHEARSE_CONFIG", str(config))
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "0123456789abcde", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "at least 16 characters" in r.output
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "0123456789abcdef", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output


def test_users_passwd_remove_and_list(cli, tmp_path):
    from voicerehearse.accounts import check_login

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    for name in ("alex", "blake"):
        assert runner.invoke(cli, ["users", "add", name, "--password", f"{name}-password", *data]).exit_code == 0
    with Store.open(tmp_path).session() as db:
        version = db.scalar(select(User).where(User.username == "alex")).session_version
    r = runner.invoke(cli, ["users", "passwd", "alex", *data], input="a-new-password\na-new-password\n")
    assert r.exit_code == 0 and "logged out" in r.output
    with Store.open(tmp_path).session() as db:
        assert check_login(db, "alex", "a-new-password") is not None
        assert check_login(db, "alex", "alex-password") is None
        assert db.scalar(select(User).where(User.username == "alex")).session_version == version + 1
    r = runner.invoke(cli, ["users", "passwd", "alex", "--password", "short", *data])
    assert r.exit_code == 1 and "at least 10" in r.output
    r = runner.invoke(cli, ["users", "passwd", "nobody", *data])  # no password prompt for an unknown name
    assert r.exit_code == 1 and "no user 'nobody'" in r.output
    r = runner.invoke(cli, ["users", "remove", "blake", *data], input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    r = runner.invoke(cli, ["users", "remove", "blake", "--yes", *data])
    assert r.exit_code == 0 and "Removed blake" in r.output
    r = runner.invoke(cli, ["users", "remove", "blake", "--yes", *data])
    assert r.exit_code == 1 and "no user 'blake'" in r.output
    r = runner.invoke(cli, ["users", "list", *data])
    assert r.output.splitlines() == ["alex\tcoach"]


def test_removing_a_user_keeps_their_comments(cli, tmp_path):
    from voicerehearse.accounts import add_user, remove_user
    from voicerehearse.store import Comment, PracticeSession, Turn, get_or_create_trainee

    store = Store.open(tmp_path)
    with store.session() as db:
        author = add_user(db, "alex", "alex-password")
        turn = Turn(index=0, audio_path="audio/1/turn-0.wav")
        turn.comments.append(Comment(start_s=1.0, text="good", author_id=author.id))
        db.add(PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S",
                               turns=[turn]))
        db.commit()
        remove_user(db, "alex")
        db.commit()
        assert db.scalar(select(Comment)).author_id is None and db.scalar(select(User)) is None


def test_serve_on_a_busy_port_or_unknown_host_is_one_line(cli, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(cli, ["serve", "--port", str(port), "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "already in use" in r.output and "Traceback" not in r.output
    assert "Coach report on" not in r.output  # no URL printed for a server that never started
    r = CliRunner().invoke(cli, ["serve", "--host", "no-such-host.invalid", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "cannot listen on no-such-host.invalid" in r.output
    assert "Coach report on" not in r.output


@pytest.mark.parametrize("args, secure", [([], False), (["--host", "0.0.0.0"], True),
                                          (["--host", "0.0.0.0", "--no-secure-cookies"], False),
                                          (["--secure-cookies"], True)])
def test_secure_cookies_by_default_off_this_machine(cli, tmp_path, served, args, secure):
    r = CliRunner().invoke(cli, ["serve", *args, "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    app = served[0][1]
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert ("HTTPS proxy" in r.output) is (secure and "--host" in args)


def test_serve_uses_waitress_on_localhost_by_default(cli, tmp_path, served):
    r = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    kind, app, kw = served[0]
    assert kind == "waitress" and kw["host"] == "127.0.0.1" and kw["port"] == 8321
    assert app.config["DATA_DIR"] == str(tmp_path.resolve())
    assert "users add" in r.output  # no users yet: says how to add one


def test_serve_debug_uses_the_flask_dev_server(cli, tmp_path, served):
    r = CliRunner().invoke(cli, ["serve", "--debug", "--port", "9000", "--host", "0.0.0.0",
                                 "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    kind, _, kw = served[0]
    assert kind == "flask" and kw["debug"] and kw["port"] == 9000
    assert "warning: listening on 0.0.0.0" in r.output


def test_import_command_stores_a_session(cli, tmp_path):
    wav = tmp_path / "call.wav"
    sf.write(wav, place(4.0, (0.5, voice(3.0, f0=160, level_db=-20, syllable_hz=4)), (0.0, noise(4.0, -70))), SR)
    r = CliRunner().invoke(cli, ["import", str(wav), "--trainee", "Robin", "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0 and "Stored session 1" in r.output
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "d" / "voicerehearse.db"), "--trainee", "Robin",
                                 "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 1 and "Error" in r.output


def test_demo_stores_sessions_without_serving(cli, tmp_path):
    runner = CliRunner()
    for _ in range(2):  # running it again replaces the demo sessions
        r = runner.invoke(cli, ["demo", "--brief", "--no-serve", "--data-dir", str(tmp_path)])
        assert r.exit_code == 0, r.output
    assert "Stored 8 demo sessions" in r.output and DEMO_PASSWORD in r.output
    with Store.open(tmp_path).session() as db:
        sessions = list(db.scalars(select(PracticeSession)))
        assert len(sessions) == 8 and {s.source for s in sessions} == {"demo"}
        assert {s.trainee.name for s in sessions} == {"Dana", "Sam"}
        assert db.scalar(select(User).where(User.username == DEMO_USER)) is not None
        dates = [s.started_at for s in sorted(sessions, key=lambda s: s.id)]
        assert dates == sorted(dates)
        # each demo turn carries the style its take was scripted to show, as a coach's call
        calls = [(t.coach_label, t.label, t.coach_label_by) for s in sessions for t in s.turns]
        assert {c for c, _, _ in calls} == {"aggressive", "passive", "assertive"}
        assert all(by == "demo script" for _, _, by in calls)
    from voicerehearse.cli import main

    agreement = runner.invoke(main, ["verdict", "agreement", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(agreement.output)["turns"] == 8 and json.loads(agreement.output)["uar"] == 1.0


def test_demo_without_a_terminal_neither_stores_nor_serves(cli, served):
    r = CliRunner().invoke(cli, ["demo", "--brief"])
    assert r.exit_code == 0 and "voicerehearse demo --serve" in r.output and not served


def test_demo_serves_even_without_waveform_assets(cli, tmp_path, served, monkeypatch):
    import voicerehearse.web as web

    monkeypatch.setattr(web, "vendor_assets_present", lambda: False)
    r = CliRunner().invoke(cli, ["demo", "--brief", "--serve", "--port", "8400", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "plain audio" in r.output and "scripts/setup.sh" in r.output
    kind, app, kw = served[0]
    assert kind == "waitress" and kw["host"] == "127.0.0.1" and kw["port"] == 8400
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "csrf_token": token})
    page = client.get("/sessions/1").get_data(as_text=True)
    assert 'id="vendor-missing"' in page and "synthetic" in page


def test_report_to_an_unwritable_path_is_one_line(cli, tmp_path):
    wav = tmp_path / "call.wav"
    sf.write(wav, place(4.0, (0.5, voice(3.0, f0=160, level_db=-20, syllable_hz=4)), (0.0, noise(4.0, -70))), SR)
    data = str(tmp_path / "d")
    assert CliRunner().invoke(cli, ["import", str(wav), "--trainee", "Robin", "--data-dir", data]).exit_code == 0
    r = CliRunner().invoke(cli, ["report", "1", "--data-dir", data, "-o", str(tmp_path / "no" / "x.html")])
    assert r.exit_code == 1 and "cannot write" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["import", str(wav), "--trainee", "  ", "--data-dir", data])
    assert r.exit_code == 1 and "1 to 120 characters" in r.output


def test_demo_never_writes_into_a_store_it_did_not_create(cli, tmp_path):
    from voicerehearse.accounts import add_user

    store = Store.open(tmp_path / "real")
    with store.session() as db:
        add_user(db, "alex", "alex-password")
        db.commit()
    before = sorted(p.name for p in (tmp_path / "real").iterdir())
    r = CliRunner().invoke(cli, ["demo", "--brief", "--no-serve", "--data-dir", str(tmp_path / "real")])
    assert r.exit_code == 1 and "did not create" in r.output and "Traceback" not in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1  # refused before any analysis
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == before
    with store.session() as db:
        assert [u.username for u in db.scalars(select(User))] == ["alex"]
    # even an empty store (no users, no sessions) is someone's
    Store.open(tmp_path / "empty")
    r = CliRunner().invoke(cli, ["demo", "--brief", "--no-serve", "--data-dir", str(tmp_path / "empty")])
    assert r.exit_code == 1 and "did not create" in r.output


def test_demo_default_folder_from_before_the_marker_is_still_the_demos(tmp_path, monkeypatch):
    from voicerehearse.accounts import add_user
    from voicerehearse.cli.demo import MARKER, store_demo_sessions
    from voicerehearse.errors import ConfigError
    from voicerehearse.sessions import add_session
    from voicerehearse.store import default_data_dir

    monkeypatch.setenv("VOICEREHEARSE_DATA_DIR", str(tmp_path / "user"))
    folder = default_data_dir() / "demo"
    take = tmp_path / "take.wav"
    take.write_bytes(b"RIFF")
    store = Store.open(folder)
    add_session(store, trainee="Dana", scenario_id="s", scenario_title="S", source="demo",
                turns=[{"audio": take, "record": {}}])
    with store.session() as db:
        db.add(User(username=DEMO_USER, password_hash="old"))
        db.commit()
    store_demo_sessions([])  # an older demo's folder: claimed, its login given the current password
    assert (folder / MARKER).is_file()
    (folder / MARKER).unlink()
    with store.session() as db:
        add_user(db, "alex", "alex-password")  # now someone's real login lives here
        db.commit()
    with pytest.raises(ConfigError, match="did not create"):
        store_demo_sessions([])
