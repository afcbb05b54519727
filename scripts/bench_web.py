"""Server time of the web report's list pages on a store with a long history, and what they cost in SQL and bytes;
then the replay of a long two-channel call: its first view's server time and memory, and its warm views.

    python scripts/bench_web.py [--sessions 200] [--trainees 10] [--turns 5] [--repeat 30] [--call-minutes 30]

Builds a throw-away store (synthetic analysis records, no audio) of SESSIONS sessions spread over TRAINEES
trainees, logs in as a coach and requests each list page REPEAT times through Flask's test client (server time:
routing, SQL, templates; no network). Prints p50 / p95 per page, the SQL statements of one request, the HTML size
and its gzipped size.

Then (unless --call-minutes 0) writes a synthetic two-channel 16 kHz call of CALL_MINUTES minutes (agent and
customer taking turns), imports it as ``voicerehearse import --stereo agent=0,customer=1`` does (analysis,
derived data), and serves it from a fresh process per case: the first view (session page, then the contour)
with the derived file written at import, and with it removed (a store from before derived files); each prints
the server time of both requests and the server's peak memory increase over them (VmHWM), then p50 / p95 of
REPEAT warm views.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event, select

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


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def write_call(path: Path, minutes: float, sr: int = 16000) -> None:
    """A two-channel call written a minute at a time: agent (0) and customer (1) take 8 s turns with 2 s gaps,
    each a harmonic voice (140 / 210 Hz) with syllable bursts, over a quiet room."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(60 * sr) / sr
    with sf.SoundFile(path, "w", sr, 2, "PCM_16") as f:
        for minute in range(int(round(minutes))):
            out = (rng.standard_normal((60 * sr, 2)) * 10 ** (-65 / 20)).astype(np.float32)
            for k, start in enumerate(range(0, 60, 10)):
                side, f0 = (minute * 6 + k) % 2, (140.0, 210.0)[(minute * 6 + k) % 2]
                seg = slice(start * sr, (start + 8) * sr)
                phase = 2 * np.pi * f0 * t[seg]
                y = sum(h ** -1.5 * np.sin(h * phase) for h in range(1, 9)) * np.sin(np.pi * 2.0 * t[seg]) ** 2
                out[seg, side] += (0.1 * y / np.abs(y).max()).astype(np.float32)
            f.write(out)


def build_call(data_dir: Path, minutes: float) -> tuple[tuple[int, int], tuple[int, int], Path]:
    """The store: a one-minute call (the server's warm-up) and the long one, both imported. Returns the
    (session, turn) ids of each and the long call's stored recording."""
    from voicerehearse.derived import ContourSpec, sidecar, store_derived
    from voicerehearse.importing import import_call
    from voicerehearse.pipeline import StereoLayout
    from voicerehearse.settings import load_settings

    store = Store.open(data_dir)
    with store.session() as db:
        add_user(db, "coach", "bench-password-1")
        db.commit()
    ids = []
    for length in (1, minutes):
        wav = data_dir.parent / "call.wav"
        write_call(wav, length)
        t0 = time.perf_counter()
        result = import_call(store, wav, trainee="Caller", stereo=StereoLayout.parse("agent=0,customer=1"),
                             settings=load_settings())
        took = time.perf_counter() - t0
        with store.session() as db:
            turn = db.scalars(select(Turn).where(Turn.session_id == result.session_id)).one()
            recording = store.resolve_audio(turn.audio_path)
            ids.append((result.session_id, turn.id))
        size = wav.stat().st_size / 2 ** 20
        wav.unlink()
    with store.session() as db:
        spec = ContourSpec.of_record(db.get(Turn, ids[1][1]).analysis)
    sidecar(recording).unlink()
    t0 = time.perf_counter()
    store_derived(recording, spec, settings=load_settings())  # what the import spent on it, again
    print(f"call: {minutes:g} min two-channel 16 kHz ({size:.0f} MB), imported in {took:.1f} s, of which the "
          f"derived data {time.perf_counter() - t0:.1f} s")
    store.engine.dispose()
    return ids[0], ids[1], recording


def _peak_kb(reset: bool = False) -> int:
    """This process's peak resident memory (VmHWM, kB); ``reset`` first sets it to the current size."""
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    return int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def serve_call(data_dir: str, warm_up: tuple[int, int], call: tuple[int, int], repeat: int) -> None:
    """One server process: the first view of the call (page, then contour), then REPEAT warm views; JSON out.
    The one-minute call is viewed first, so the figures are the long call's, not the process's first request's
    (template compilation, imports)."""
    app = create_app({"TESTING": True, "DATA_DIR": data_dir, "SECRET_KEY": "bench"})
    client = app.test_client()
    _login(client)
    for url in (f"/sessions/{warm_up[0]}", f"/api/turns/{warm_up[1]}/contour"):
        assert client.get(url).status_code == 200, url
    session_id, turn_id = call
    urls = {"page": f"/sessions/{session_id}", "contour": f"/api/turns/{turn_id}/contour"}
    before = _peak_kb(reset=True)
    first = {}
    for name, url in urls.items():
        start = time.perf_counter()
        r = client.get(url, headers={"Accept-Encoding": "gzip"})
        first[name] = 1000 * (time.perf_counter() - start)
        assert r.status_code == 200, (url, r.status_code)
        first[name + "_kb"] = len(r.data) / 1024
    grew = (_peak_kb() - before) / 1024
    warm = {}
    for name, url in urls.items():
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url, headers={"Accept-Encoding": "gzip"})
            times.append(1000 * (time.perf_counter() - start))
        warm[name] = _percentiles(times)
    print(json.dumps({"first": first, "grew_mb": grew, "warm": warm}))


def bench_call(tmp: Path, minutes: float, repeat: int) -> None:
    from voicerehearse.derived import sidecar

    data_dir = tmp / "call-data"
    data_dir.mkdir()
    warm_up, call, recording = build_call(data_dir, minutes)
    print(f"{'replay of the call':30s} {'page ms':>8s} {'contour ms':>10s} {'peak +MB':>9s} "
          f"{'warm page p50/p95':>18s} {'warm contour p50/p95':>21s}")
    cases = [("first view, derived at import", False), ("first view, store from before", True)]
    for label, legacy in cases:
        if legacy:
            sidecar(recording).unlink()
        out = subprocess.run([sys.executable, __file__, "--serve-call", str(data_dir), *map(str, warm_up),
                              *map(str, call), str(repeat)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        f, w = r["first"], r["warm"]
        print(f"{label:30s} {f['page']:8.0f} {f['contour']:10.0f} {r['grew_mb']:9.1f} "
              f"{w['page'][0]:8.1f} / {w['page'][1]:7.1f} {w['contour'][0]:10.1f} / {w['contour'][1]:8.1f}")
    stored = f"{sidecar(recording).stat().st_size / 1024:.0f} KB" if sidecar(recording).is_file() else "none"
    print(f"page {f['page_kb']:.0f} KB, contour {f['contour_kb']:.0f} KB (gzipped); derived file {stored}")


def main() -> None:
    if sys.argv[1:2] == ["--serve-call"]:
        data_dir, *ids, repeat = sys.argv[2:8]
        ids = [int(i) for i in ids]
        serve_call(data_dir, (ids[0], ids[1]), (ids[2], ids[3]), int(repeat))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--trainees", type=int, default=10)
    parser.add_argument("--turns", type=int, default=5, help="turns per session")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--call-minutes", type=float, default=30.0, help="length of the replayed call; 0: none")
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
            p50, p95 = _percentiles(times)
            print(f"{label:22s} {p50:7.1f} {p95:7.1f} {len(seen):4d} "
                  f"{len(plain.data) / 1024:8.1f} {len(packed.data) / 1024:8.1f}")
        if opts.call_minutes > 0:
            bench_call(Path(tmp), opts.call_minutes, opts.repeat)


if __name__ == "__main__":
    main()
