"""Filters and search on the session lists (web and `voicerehearse sessions list`): one query behind both, the
agent restricted to their own sessions whatever the URL says, bad filter values named on the page."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from voicerehearse.accounts import add_user
from voicerehearse.cli import main
from voicerehearse.store import PracticeSession, ScorecardAnswers, SessionReview, Store, Turn, get_or_create_trainee
from voicerehearse.web import create_app

from tests.test_web_lists import _count, login


def login_as(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302

START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _session(db, trainee, day: int, scenario: str, label: str, *, note=None):
    practice = PracticeSession(trainee=trainee, scenario_id=scenario, scenario_title=scenario.replace("_", " ").title(),
                               source="practice", status="complete", started_at=START + timedelta(days=day), note=note)
    turn = Turn(index=0, audio_path=f"audio/{day}.wav")
    turn.set_analysis({"duration_s": 4.0, "delivery": {"label": label}})
    practice.turns.append(turn)
    db.add(practice)
    db.flush()
    return practice.id


@pytest.fixture
def lists(tmp_path):
    """Dana: 4 sessions (two scenarios, three verdicts, two scored by two coaches, one disputed); Lee: 1."""
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        dana, lee = get_or_create_trainee(db, "Dana"), get_or_create_trainee(db, "Lee")
        ids = {
            "d0": _session(db, dana, 0, "late_fee", "aggressive"),
            "d1": _session(db, dana, 1, "late_fee", "passive", note="asked for the supervisor"),
            "d2": _session(db, dana, 5, "cancel_plan", "assertive"),
            "d3": _session(db, dana, 9, "cancel_plan", "passive"),
            "l0": _session(db, lee, 2, "late_fee", "assertive"),
        }
        coach, second = add_user(db, "coach", "coach-password"), add_user(db, "second", "second-password")
        add_user(db, "dana", "dana-password", dana)
        db.flush()
        for sid, scores in ((ids["d2"], (90.0, 70.0)), (ids["d3"], (40.0, 50.0))):
            for who, pct in zip((coach, second), scores):
                db.add(ScorecardAnswers(session_id=sid, coach_id=who.id, rubric="service-call", answers={},
                                        score_pct=pct))
        db.add(SessionReview(session_id=ids["d1"], status="disputed", reason="the customer spoke over me"))
        db.commit()
        ids["dana"], ids["lee"] = dana.id, lee.id
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    return app, ids, tmp_path / "data"


def _shown(client, url) -> list[int]:
    r = client.get(url)
    assert r.status_code == 200, url
    return [int(i) for i in re.findall(r'<tr data-session="(\d+)">', r.get_data(as_text=True))]


@pytest.mark.parametrize("query,expected", [
    ("", ["d3", "d2", "l0", "d1", "d0"]),  # newest first
    ("?verdict=passive", ["d3", "d1"]),
    ("?scenario=cancel_plan", ["d3", "d2"]),
    ("?scenario=late", ["l0", "d1", "d0"]),  # a part of the title
    ("?since=2026-03-02&until=2026-03-06", ["d2", "l0", "d1"]),  # both days included
    ("?status=disputed", ["d1"]),
    ("?status=new&verdict=passive", ["d3"]),
    ("?min_score=60", ["d2"]),  # the mean of the two coaches: 80 and 45
    ("?max_score=45", ["d3"]),
    ("?q=supervisor", ["d1"]),  # the note
    ("?q=lee", ["l0"]),  # the trainee's name, any case
    ("?trainee=Dana&verdict=assertive", ["d2"]),
    ("?q=100%25", []),  # LIKE wildcards are matched literally
])
def test_the_coach_filters_all_sessions(lists, query, expected):
    app, ids, _ = lists
    client = app.test_client()
    login(client)
    assert _shown(client, "/sessions" + query) == [ids[k] for k in expected]


def test_a_trainees_page_filters_their_sessions_only(lists):
    app, ids, _ = lists
    client = app.test_client()
    login(client)
    assert _shown(client, f"/trainees/{ids['dana']}?verdict=assertive") == [ids["d2"]]
    assert _shown(client, f"/trainees/{ids['dana']}?q=lee") == []  # Lee's session is not on Dana's page
    page = client.get(f"/trainees/{ids['dana']}?verdict=passive").get_data(as_text=True)
    assert '<option value="passive" selected>passive</option>' in page  # the form shows what is filtered
    assert "No sessions match" in client.get(f"/trainees/{ids['dana']}?status=acknowledged").get_data(as_text=True)


def test_a_bad_filter_is_named_and_the_list_still_shows(lists):
    app, ids, _ = lists
    client = app.test_client()
    login(client)
    r = client.get("/sessions?since=yesterday")
    assert r.status_code == 200 and "a date is written YYYY-MM-DD, got &#39;yesterday&#39;" in r.get_data(as_text=True)
    assert len(_shown(client, "/sessions?since=yesterday")) == 5
    assert "from 0 to 100" in client.get("/sessions?min_score=150").get_data(as_text=True)
    assert "is after the last day" in client.get("/sessions?since=2026-03-05&until=2026-03-01").get_data(as_text=True)


def test_an_agent_sees_only_their_own_sessions_whatever_the_url(lists):
    app, ids, _ = lists
    client = app.test_client()
    login_as(client, "dana", "dana-password")
    assert _shown(client, "/sessions") == [ids[k] for k in ("d3", "d2", "d1", "d0")]
    assert _shown(client, "/sessions?trainee=Lee") == []
    assert _shown(client, "/sessions?q=lee") == []
    page = client.get("/sessions").get_data(as_text=True)
    assert "My sessions" in page and 'name="trainee"' not in page


def test_the_list_takes_the_same_statements_however_many_sessions(tmp_path):
    from tests.test_web_lists import app_with

    small_app, small, _ = app_with(tmp_path / "small", sessions=5, trainees=2)
    large_app, large, _ = app_with(tmp_path / "large", sessions=80, trainees=7)
    n_small, _ = _count(small_app, small, "/sessions?verdict=passive&q=late")
    n_large, seen = _count(large_app, large, "/sessions?verdict=passive&q=late")
    assert n_small == n_large <= 3, seen  # the login, the page, the scenario menu
    assert not any(re.search(r"\bFROM turns\b|\bJOIN turns\b", s) for s in seen), seen


def test_the_pager_keeps_the_filters(tmp_path):
    from tests.test_web_lists import app_with

    _, client, _ = app_with(tmp_path, sessions=120, trainees=1)
    first = client.get("/sessions?verdict=aggressive").get_data(as_text=True)
    assert len(re.findall(r"<tr data-session=", first)) == 50
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "verdict=aggressive" in nxt and "page=2" in nxt
    assert "No older sessions" not in client.get(nxt).get_data(as_text=True)


def test_the_cli_lists_with_the_same_filters(lists):
    _, ids, data = lists
    runner = CliRunner()

    def listed(*args):
        out = runner.invoke(main, ["sessions", "list", "--json", "--data-dir", str(data), *args])
        assert out.exit_code == 0, out.output
        return [json.loads(line) for line in out.output.splitlines()]

    assert [r["id"] for r in listed("--scenario", "cancel_plan", "--min-score", "60")] == [ids["d2"]]
    assert [r["score_pct"] for r in listed("--scenario", "cancel_plan")] == [45.0, 80.0]
    assert [r["id"] for r in listed("--since", "2026-03-02", "--until", "2026-03-06", "--search", "FEE")] == \
        [ids["l0"], ids["d1"]]
    out = runner.invoke(main, ["sessions", "list", "--since", "March", "--data-dir", str(data)])
    assert out.exit_code == 1 and "YYYY-MM-DD, got 'March' (--since)" in out.output and "Traceback" not in out.output


# ----------------------------------------------------------------------------- the team view and the trends

def _call(db, trainee, day, scenario, *, latency, interrupted, helpful, problem, rough=False):
    practice = PracticeSession(trainee=trainee, scenario_id=scenario, scenario_title=scenario.title(),
                               source="practice", status="complete", started_at=START + timedelta(days=day))
    cues = [{"category": "empathy", "style": "assertive", "phrase": "i understand"}] * helpful + \
           [{"category": "blame", "style": "aggressive", "phrase": "your fault"}] * problem
    turn = Turn(index=0, audio_path=f"audio/{trainee.name}-{day}.wav")
    turn.set_analysis({"duration_s": 4.0, "delivery": {"label": "assertive" if not problem else "aggressive"},
                       "turn": {"response_latency_s": latency, "interrupted": interrupted},
                       "transcript": {"text": "...", "rough": rough}, "cues": cues})
    practice.turns.append(turn)
    db.add(practice)


@pytest.fixture
def team(tmp_path):
    """Ann: latency 0.4 and 0.6, one interruption, 2 helpful phrases; Bo: 1.0, none, 1 problem; Cy: 3.0 (refund),
    words only from the rough fallback (no phrase counts)."""
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        ann, bo, cy = (get_or_create_trainee(db, n) for n in ("Ann", "Bo", "Cy"))
        _call(db, ann, 0, "late_fee", latency=0.4, interrupted=True, helpful=2, problem=0)
        _call(db, ann, 1, "refund", latency=0.6, interrupted=False, helpful=0, problem=0)
        _call(db, bo, 0, "late_fee", latency=1.0, interrupted=False, helpful=0, problem=1)
        _call(db, cy, 0, "refund", latency=3.0, interrupted=False, helpful=3, problem=0, rough=True)
        add_user(db, "coach", "coach-password")
        add_user(db, "ann", "ann-password", ann)
        db.commit()
        ids = {"ann": ann.id, "bo": bo.id, "cy": cy.id}
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    return app, ids


def _figures(html, row_marker):
    row = re.search(row_marker + r"(.*?)</tr>", html, re.S).group(1)
    return dict(re.findall(r'data-figure="([a-z_]+)">([^<]*)</td>', row))


def test_the_team_view_shows_each_trainee_against_the_team_median(team):
    app, ids = team
    client = app.test_client()
    login(client)
    html = client.get("/").get_data(as_text=True)
    median = _figures(html, r'data-label="team-median">')
    # latency: Ann 0.5, Bo 1.0, Cy 3.0 -> 1.0; interruptions a turn: 0.5, 0, 0 -> 0; helpful: Ann 1.0, Bo 0 (Cy's
    # rough words do not count) -> 0.5; assertive share: 100, 0, 100 -> 100
    assert median["latency_s"] == "1.00 s" and median["interruptions_per_turn"] == "0.00"
    assert median["helpful_per_turn"] == "0.5" and median["assertive_share"] == "100 %"
    ann = _figures(html, rf'<tr data-trainee="{ids["ann"]}">')
    assert ann["latency_s"] == "0.50 s" and ann["interruptions_per_turn"] == "0.50" and ann["helpful_per_turn"] == "1.0"
    assert _figures(html, rf'<tr data-trainee="{ids["cy"]}">')["helpful_per_turn"] == "–"


def test_progress_per_scenario_with_the_team_median_and_no_empty_charts(team):
    app, ids = team
    client = app.test_client()
    login(client)
    html = client.get(f"/trainees/{ids['ann']}/progress").get_data(as_text=True)
    titles = re.findall(r'<text x="4" y="14" class="chart-title">([^<]+)</text>', html)
    assert "Reply latency" in titles and "Interruptions a turn" in titles
    assert "Pace (mean per session)" not in titles  # no session has a pace: the chart is left out
    assert "team median 1.00 s" in html
    one = client.get(f"/trainees/{ids['ann']}/progress?scenario=refund").get_data(as_text=True)
    assert len(re.findall(r'href="/sessions/\d+"', one)) == 1 and "All turns of this scenario" in one
    assert "team median 1.80 s" in one  # refund: Ann 0.6, Cy 3.0
    assert '<option value="refund" selected>' in one


def test_an_agent_sees_their_progress_without_the_team(team):
    app, ids = team
    client = app.test_client()
    login_as(client, "ann", "ann-password")
    assert 'data-label="team-median"' not in client.get("/").get_data(as_text=True)
    html = client.get(f"/trainees/{ids['ann']}/progress").get_data(as_text=True)
    assert "team median" not in html and "Reply latency" in html
    assert client.get(f"/trainees/{ids['bo']}/progress").status_code == 404
