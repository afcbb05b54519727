"""The trainee list, a trainee's sessions and the progress page: a fixed number of SQL statements whatever the
history (no N+1), no read of the turns table, pages of 50 rows. Statements are counted on the engine."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from voicerehearse.accounts import add_user
from voicerehearse.store import Comment, PracticeSession, Store, Turn, get_or_create_trainee
from voicerehearse.web import create_app

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
LABELS = ("aggressive", "passive", "assertive")


def _record(i: int) -> dict:
    return {"duration_s": 3.0, "delivery": {"label": LABELS[i % 3]}, "pace": {"words_per_minute": 120.0 + i},
            "tone": {"loudness_delta_db": 1.0, "pitch_delta_st": -0.5},
            "turn": {"response_latency_s": 0.4, "interrupted": i % 2 == 0},
            "words": [{"word": "x", "start": 0.0, "end": 0.1}] * 50}  # the heavy JSON a list must never load


def seed(store: Store, sessions: int, trainees: int) -> list[int]:
    """``sessions`` sessions of two turns each (one with a comment), spread over ``trainees`` trainees."""
    with store.session() as db:
        people = [get_or_create_trainee(db, f"Trainee {k:03d}") for k in range(trainees)]
        for i in range(sessions):
            practice = PracticeSession(trainee=people[i % trainees], scenario_id="late_fee",
                                       scenario_title=f"Late fee {i}", source="import", status="complete",
                                       started_at=START + timedelta(hours=i))
            for index in range(2):
                turn = Turn(index=index, audio_path=f"audio/{i}/turn-{index}.wav")
                turn.set_analysis(_record(i + index))
                practice.turns.append(turn)
            practice.turns[0].comments.append(Comment(start_s=0.5, text="slower here"))
            db.add(practice)
        add_user(db, "coach", "coach-password")
        db.commit()
        return [p.id for p in people]


def login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "coach", "password": "coach-password", "csrf_token": token})
    assert r.status_code == 302


@contextmanager
def statements(engine):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def app_with(tmp_path, sessions: int, trainees: int):
    store = Store.open(tmp_path / "data")
    people = seed(store, sessions, trainees)
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    client = app.test_client()
    login(client)
    return app, client, people


def _pages(people):
    first = people[0]
    return {"trainees": "/", "trainee": f"/trainees/{first}", "progress": f"/trainees/{first}/progress"}


def _count(app, client, path) -> tuple[int, list[str]]:
    engine = app.extensions["voicerehearse.store"].engine
    with statements(engine) as seen:
        r = client.get(path)
    assert r.status_code == 200, path
    return len(seen), seen


@pytest.mark.parametrize("page", ["trainees", "trainee", "progress"])
def test_list_pages_take_the_same_statements_with_5_or_50_sessions(tmp_path, page):
    small_app, small, small_people = app_with(tmp_path / "small", sessions=5, trainees=1)
    # the trainee list: 10 trainees with 5 sessions each; a trainee's pages: one trainee with all 50
    large_app, large, large_people = app_with(tmp_path / "large", sessions=50, trainees=10 if page == "trainees" else 1)
    n_small, _ = _count(small_app, small, _pages(small_people)[page])
    n_large, seen = _count(large_app, large, _pages(large_people)[page])
    assert n_large == n_small, seen
    assert n_large <= 5, seen  # the login, the trainee, the page, its totals by scenario, the team (progress)
    assert not any(re.search(r"\bFROM turns\b|\bJOIN turns\b", s) for s in seen), seen  # summaries only


def test_the_trainee_list_shows_summaries_of_all_sessions(tmp_path):
    _, client, people = app_with(tmp_path, sessions=6, trainees=2)
    page = client.get("/").get_data(as_text=True)
    # trainee 000 has sessions 0, 2, 4: turns labelled by i and i+1 → 2 aggressive, 2 passive, 2 assertive
    row = re.search(r"Trainee 000</a></td>(.*?)</tr>", page, re.S).group(1)
    assert '<td class="num">3</td>' in row
    assert "2 aggressive" in row and "2 passive" in row and "2 assertive" in row
    assert "Late fee 4" in row  # the last session


def test_trainee_sessions_are_paged_by_50_newest_first(tmp_path):
    _, client, people = app_with(tmp_path, sessions=120, trainees=1)
    first = client.get(f"/trainees/{people[0]}").get_data(as_text=True)
    titles = re.findall(r"<td>Late fee (\d+)</td>", first)
    assert titles == [str(i) for i in range(119, 69, -1)]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = client.get(f"/trainees/{people[0]}?page=3").get_data(as_text=True)
    assert re.findall(r"<td>Late fee (\d+)</td>", last) == [str(i) for i in range(19, -1, -1)]
    assert 'rel="next"' not in last and f'href="/trainees/{people[0]}?page=2"' in last
    beyond = client.get(f"/trainees/{people[0]}?page=9").get_data(as_text=True)
    assert "No older sessions" in beyond
    assert client.get(f"/trainees/{people[0]}?page=-4").status_code == 200  # nonsense is the first page


def test_progress_is_paged_with_totals_over_all_sessions(tmp_path):
    _, client, people = app_with(tmp_path, sessions=60, trainees=1)
    page = client.get(f"/trainees/{people[0]}/progress").get_data(as_text=True)
    assert len(re.findall(r'href="/sessions/\d+"', page)) == 50
    totals = re.search(r"<p>All turns: (.*?)</p>", page, re.S).group(1)
    assert "40 aggressive" in totals and "40 passive" in totals and "40 assertive" in totals
    assert 'href="/trainees/%d/progress?page=2"' % people[0] in page
    second = client.get(f"/trainees/{people[0]}/progress?page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/sessions/\d+"', second)) == 10


def test_the_trainee_list_is_paged_by_50(tmp_path):
    _, client, _ = app_with(tmp_path, sessions=60, trainees=60)
    first = client.get("/").get_data(as_text=True)
    assert len(re.findall(r'href="/trainees/\d+/progress"', first)) == 50 and 'rel="next"' in first
    second = client.get("/?page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/trainees/\d+/progress"', second)) == 10
    assert "Trainee 059" in second and "Trainee 059" not in first


def test_a_trainee_row_shows_the_session_summary(tmp_path):
    _, client, people = app_with(tmp_path, sessions=3, trainees=1)
    page = client.get(f"/trainees/{people[0]}").get_data(as_text=True)
    row = re.search(r"<td>Late fee 2</td>(.*?)</tr>", page, re.S).group(1)  # turns labelled 2 and 3
    assert '<span class="pill aggressive">aggressive</span>' in row  # the tie goes to the worst style
    assert "1 aggressive" in row and "1 assertive" in row and "passive" not in row
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["2", "6 s", "1", "1"]  # turns, recorded, cut-ins, comments
