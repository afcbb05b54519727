"""`voicerehearse serve`, `users add`, `import` and `demo` storing + serving the report (the server is stubbed)."""

from __future__ import annotations

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

    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append(("waitress", app, kw)))
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append(("flask", self, kw)))
    return calls


def test_users_add_coach_and_trainee(cli, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "s3cret!", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0 and "coach" in r.output
    r = runner.invoke(cli, ["users", "add", "dana", "--trainee", "Dana", "--data-dir", str(tmp_path)],
                      input="pw-dana\npw-dana\n")
    assert r.exit_code == 0 and "trainee login for Dana" in r.output
    with Store.open(tmp_path).session() as db:
        dana = db.scalar(select(User).where(User.username == "dana"))
        assert dana.role == "trainee" and db.get(Trainee, dana.trainee_id).name == "Dana"
        assert "pw-dana" not in dana.password_hash
    r = runner.invoke(cli, ["users", "add", "alex", "--password", "again", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(cli, ["users", "list", "--data-dir", str(tmp_path)])
    assert "alex\tcoach" in r.output and "dana\ttrainee\tDana" in r.output


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
