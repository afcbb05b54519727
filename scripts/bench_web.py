"""Server time of the web report's list pages on a store with a long history, and what they cost in SQL and bytes.

    python scripts/bench_web.py [--sessions 200] [--trainees 10] [--turns 5] [--repeat 30]

Builds a throw-away store (synthetic analysis records, no audio) of SESSIONS sessions spread over TRAINEES
trainees, logs in as a coach and requests each list page REPEAT times through Flask's test client (server time:
routing, SQL, templates; no network). Prints p50 / p95 per page, the SQL statements of one request, the HTML size
and its gzipped size.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicerehearse.accounts import add_user  # noqa: E402
from voicerehearse.store import Comment, PracticeSession, Store, Turn, get_or_create_trainee  # noqa: E402
from voicerehearse.web import create_app  # noqa: E402

LABELS = ("assertive", "passive", "aggressive", "assertive")


def _record(i: int) -> dict:
    """An analysis record about the size of a real 20 s reply's (timed words, flags)."""
    words = [{"word": f"word{k}", "start": 0.3 * k, "end": 0.3 * k + 0.25, "conf": 0.9} for k in range(60)]
    flags = [{"cue": "pace", "value": 170.0, "threshold": 160.0, "start_s": 1.0, "end_s": 4.0,
              "explanation": "faster than your usual pace"} for _ in range(4)]
    return {"duration_s": 20.0, "delivery": {"label": LABELS[i % 4], "flags": flags},
            "pace": {"words_per_minute": 120.0 + i % 40}, "tone": {"loudness_delta_db": (i % 9) - 4.0,
                                                                   "pitch_delta_st": (i % 5) - 2.0},
            "turn": {"response_latency_s": 0.2 + (i % 7) / 10, "interrupted": i % 5 == 0}, "words": words}


def build(data_dir: Path, sessions: int, trainees: int, turns: int) -> list[int]:
    store = Store.open(data_dir)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with store.session() as db:
        people = [get_or_create_trainee(db, f"Trainee {k:02d}") for k in range(trainees)]
        for i in range(sessions):
            practice = PracticeSession(trainee=people[i % trainees], scenario_id="late_fee",
                                       scenario_title="Late-fee waiver", source="import", status="complete",
                                       started_at=start + timedelta(hours=i))
            for index in range(turns):
                turn = Turn(index=index, audio_path=f"audio/{i}/turn-{index}.wav")
                turn.set_analysis(_record(i + index))
                practice.turns.append(turn)
            practice.turns[0].comments.append(Comment(start_s=1.0, text="here"))
            db.add(practice)
        add_user(db, "coach", "bench-password-1")
        db.commit()
        ids = [p.id for p in people]
    store.engine.dispose()
    return ids


def _login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "coach", "password": "bench-password-1", "csrf_token": token})
    assert r.status_code == 302, "login failed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--trainees", type=int, default=10)
    parser.add_argument("--turns", type=int, default=5, help="turns per session")
    parser.add_argument("--repeat", type=int, default=30)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        people = build(Path(tmp) / "data", opts.sessions, opts.trainees, opts.turns)
        print(f"store: {opts.sessions} sessions x {opts.turns} turns, {opts.trainees} trainees "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        app = create_app({"TESTING": True, "DATA_DIR": str(Path(tmp) / "data"), "SECRET_KEY": "bench"})
        client = app.test_client()
        _login(client)
        engine = app.extensions["voicerehearse.store"].engine
        pages = {"trainee list": "/", "trainee's sessions": f"/trainees/{people[0]}",
                 "progress": f"/trainees/{people[0]}/progress"}
        print(f"{'page':22s} {'p50 ms':>7s} {'p95 ms':>7s} {'SQL':>4s} {'HTML KB':>8s} {'gzip KB':>8s}")
        for label, path in pages.items():
            seen = []
            count = lambda *_args: seen.append(1)  # noqa: E731
            event.listen(engine, "before_cursor_execute", count)
            plain = client.get(path)
            event.remove(engine, "before_cursor_execute", count)
            packed = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert plain.status_code == 200 and packed.headers.get("Content-Encoding") == "gzip", path
            times = []
            for _ in range(opts.repeat):
                start = time.perf_counter()
                client.get(path, headers={"Accept-Encoding": "gzip"})
                times.append(1000 * (time.perf_counter() - start))
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            print(f"{label:22s} {statistics.median(times):7.1f} {p95:7.1f} {len(seen):4d} "
                  f"{len(plain.data) / 1024:8.1f} {len(packed.data) / 1024:8.1f}")


if __name__ == "__main__":
    main()
