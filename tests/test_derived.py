"""What the replay draws, computed once when a take is stored and read back from the small file beside it:
the same figures as the whole-file computation it replaces, written at every store, read without touching the
audio, computed (block by block) for a recording stored before, and never the cause of a lost take."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from synth import SR, noise, place, voice
from voicerehearse import derived
from voicerehearse.derived import ContourSpec, compute_contour, read_derived, sidecar, store_derived, waveform_peaks
from voicerehearse.settings import DEFAULTS
from voicerehearse.store import PracticeSession, Store, Turn
from voicerehearse.types import Span

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the whole-file computation it replaces


def whole_file_peaks(path: Path, points: int) -> list[list[float]]:
    """The peaks as the page computed them before: the whole file read, max |sample| per bucket."""
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    y = np.abs(data)
    if y.shape[1] > 2:
        y = y.max(axis=1, keepdims=True)
    edges = np.linspace(0, y.shape[0], min(points, y.shape[0]) + 1).astype(int)[:-1]
    return [[round(float(v), 4) for v in np.maximum.reduceat(y[:, c], edges)] for c in range(y.shape[1])]


def whole_file_contour(path: Path, spec: ContourSpec) -> dict:
    """The contour as the endpoint computed it before: the whole file loaded, 50 ms loudness, per-frame pitch."""
    from voicerehearse.analysis.frames import framed_from_settings, spans_to_mask, speech_activity
    from voicerehearse.analysis.tone import measure_voice
    from voicerehearse.audio.io import load_audio

    audio = load_audio(path, settings=DEFAULTS, keep_channels=spec.channel is not None)
    if audio.samples.ndim == 2:
        audio = audio.channel(spec.channel)
    framed = framed_from_settings(audio.samples, audio.sample_rate, DEFAULTS)
    activity = speech_activity(framed, DEFAULTS, mask=spans_to_mask(spec.segments, framed.n_frames, framed.hop_s))
    track = measure_voice(framed, activity, DEFAULTS).track
    step = 5
    n = framed.db.size // step
    level = framed.db[: n * step].reshape(n, step).mean(axis=1)
    active = np.zeros(framed.n_frames, bool)
    for seg in activity.segments:
        active[framed.frame_of(seg.start): framed.frame_of(seg.end) + 1] = True
    act = active[: n * step].reshape(n, step).any(axis=1)
    return {"loudness": [((i + 0.5) * step * framed.hop_s, float(v)) for i, (v, a) in enumerate(zip(level, act)) if a],
            "pitch": [(float(f) * framed.hop_s, float(hz)) for f, hz in zip(track.frames, track.f0_hz)
                      if math.isfinite(hz)]}


def two_channel_call(path: Path, total_s: float = 8.0) -> None:
    """Agent (channel 0, peak 0.5 in 1-4 s, 200 Hz) and customer (channel 1, 0.25 in 5-7 s, 140 Hz)."""
    agent = place(total_s, (1.0, voice(3.0, f0=200, level_db=-20, syllable_hz=3, seed=1)), (0.0, noise(total_s, -70)))
    customer = place(total_s, (5.0, voice(2.0, f0=140, level_db=-24, syllable_hz=3, seed=2)),
                     (0.0, noise(total_s, -70, seed=3)))
    agent *= 0.5 / np.abs(agent).max()
    customer *= 0.25 / np.abs(customer).max()
    sf.write(path, np.stack([agent, customer], axis=1), SR, subtype="FLOAT")


AGENT = ContourSpec((Span(1.0, 4.0),), channel=0)


def test_peaks_equal_the_whole_file_computation(tmp_path):
    path = tmp_path / "call.wav"
    two_channel_call(path)
    wave = waveform_peaks(path, points=800)
    assert [list(ch) for ch in wave.peaks] == whole_file_peaks(path, 800)
    assert wave.duration_s == 8.0 and len(wave.peaks) == 2
    assert max(wave.peaks[0]) == 0.5 and max(wave.peaks[1]) == 0.25  # the known peaks, on their channels
    second = 8.0 / 800
    assert max(wave.peaks[0][int(4.1 / second):]) < 0.01 and max(wave.peaks[1][: int(4.9 / second)]) < 0.01


@pytest.mark.parametrize("points", [1, 7, 1200, 10 ** 6])  # one bucket, uneven buckets, the default, one per frame
def test_peaks_of_any_bucket_count_and_of_many_channels(tmp_path, points):
    path = tmp_path / "four.wav"
    y = np.random.default_rng(0).uniform(-1, 1, (3 * (1 << 16) + 5, 4)).astype(np.float32)  # blocks + a tail
    sf.write(path, y, 8000, subtype="FLOAT")
    wave = waveform_peaks(path, points=points)
    assert [list(ch) for ch in wave.peaks] == whole_file_peaks(path, points)
    assert len(wave.peaks) == 1  # four channels drawn as one


def test_contour_equals_the_whole_file_computation(tmp_path):
    path = tmp_path / "call.wav"
    two_channel_call(path)
    c = compute_contour(path, AGENT, settings=DEFAULTS)
    ref = whole_file_contour(path, AGENT)
    assert len(c.loudness) == len(ref["loudness"]) > 50
    assert np.allclose(np.array(c.loudness), np.array(ref["loudness"]), atol=0.051)  # rounding: 1 ms, 0.1 dB
    assert len(c.pitch) == len(ref["pitch"]) > 100
    assert np.allclose(np.array(c.pitch), np.array(ref["pitch"]), atol=0.051)
    assert 1.0 <= c.loudness[0][0] and c.loudness[-1][0] <= 4.1  # only the agent's analysed speech
    assert np.median([hz for _, hz in c.pitch]) == pytest.approx(200, abs=2)  # the agent's known pitch
    assert c.duration_s == 8.0 and c.join_s == derived.JOIN_S
    customer = compute_contour(path, ContourSpec((Span(5.0, 7.0),), channel=1), settings=DEFAULTS)
    assert np.median([hz for _, hz in customer.pitch]) == pytest.approx(140, abs=2)


def test_a_long_recording_gets_the_charts_resolution(tmp_path):
    """Past CONTOUR_POINTS frames the pitch is the median of each group of frames, the loudness the mean of the
    50 ms points, so a long call is a few thousand points at most; the chart joins points that much further."""
    total = 120.0  # 12000 frames: 6 pitch frames and 2 loudness steps (0.1 s) a point
    sr = 8000
    path = tmp_path / "long.wav"
    y = place(total, (0.0, noise(total, -70, sr=sr)), *((t, voice(6.0, f0=180, sr=sr, syllable_hz=2, seed=int(t)))
                                                         for t in np.arange(2.0, total - 8, 10.0)), sr=sr)
    sf.write(path, y, sr)
    spec = ContourSpec(tuple(Span(t, t + 6.0) for t in np.arange(2.0, total - 8, 10.0)))
    c = compute_contour(path, spec, settings=DEFAULTS)
    ref = whole_file_contour(path, spec)
    assert len(c.pitch) <= derived.CONTOUR_POINTS and len(c.loudness) <= derived.CONTOUR_POINTS
    assert c.join_s == pytest.approx(0.24)
    fine = {round(t / 0.05 - 0.5): v for t, v in ref["loudness"]}  # 50 ms step index -> level
    for t, v in c.loudness:
        pair = [fine[k] for k in (round(t / 0.1 - 0.5) * 2, round(t / 0.1 - 0.5) * 2 + 1) if k in fine]
        assert v == pytest.approx(np.mean(pair), abs=0.051)
    groups: dict[int, list[float]] = {}
    for t, hz in ref["pitch"]:
        groups.setdefault(int(round(t / 0.01)) // 6, []).append(hz)
    assert [g for g, _ in sorted(groups.items())] == [int(t / 0.06) for t, _ in c.pitch]
    assert np.allclose([hz for _, hz in c.pitch], [np.median(v) for _, v in sorted(groups.items())], atol=0.051)
    assert np.median([hz for _, hz in c.pitch]) == pytest.approx(180, abs=2)


# ---------------------------------------------------------------- stored, read back, computed again


def test_the_file_beside_the_recording_is_versioned_and_follows_the_recording(tmp_path):
    path = tmp_path / "call.wav"
    two_channel_call(path)
    first = store_derived(path, AGENT, settings=DEFAULTS)
    data = json.loads(sidecar(path).read_text(encoding="utf-8"))
    assert data["version"] == derived.VERSION and data["source"][0] == path.stat().st_size
    assert read_derived(path) == first and first.contour(AGENT, DEFAULTS) is not None
    assert first.contour(ContourSpec((Span(1.0, 3.0),), 0), DEFAULTS) is None  # another analysis: not this one
    other = dataclasses.replace(DEFAULTS, pitch_min_hz=80.0)
    assert first.contour(AGENT, other) is None  # other settings: not this one
    sidecar(path).write_text(json.dumps({**data, "version": derived.VERSION + 1}), encoding="utf-8")
    assert read_derived(path) is None  # another format: computed again
    sidecar(path).write_text("{not json", encoding="utf-8")
    assert read_derived(path) is None
    store_derived(path, AGENT, settings=DEFAULTS)
    assert read_derived(path) == first
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10 ** 9))  # the recording changed
    assert read_derived(path) is None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # every write renamed into place


def _login(client) -> None:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "coach", "password": "coach-password", "csrf_token": token})
    assert r.status_code == 302


def _app(data_dir: Path):
    from voicerehearse.accounts import add_user
    from voicerehearse.web import create_app

    store = Store.open(data_dir)
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        db.commit()
    app = create_app({"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test"})
    client = app.test_client()
    _login(client)
    return store, client


def _import(store, path: Path, settings=DEFAULTS) -> tuple[int, int, Path]:
    from voicerehearse.importing import import_call
    from voicerehearse.pipeline import StereoLayout

    result = import_call(store, path, trainee="Robin", stereo=StereoLayout.parse("agent=0,customer=1"), settings=settings)
    with store.session() as db:
        turn = db.scalar(select(Turn).where(Turn.session_id == result.session_id))
        return result.session_id, turn.id, store.resolve_audio(turn.audio_path)


def _audio_untouched(monkeypatch) -> None:
    """Every way soundfile reads audio fails: a request that reads the recording fails with it."""
    def refuse(*args, **kwargs):
        raise AssertionError("the recording was read")

    for name in ("read", "info", "SoundFile", "blocks"):
        monkeypatch.setattr(sf, name, refuse)


def _page_data(client, session_id: int) -> dict:
    page = client.get(f"/sessions/{session_id}")
    assert page.status_code == 200
    return json.loads(re.search(r'id="replay-data">(.*?)</script>', page.get_data(as_text=True), re.S).group(1))


def test_an_import_stores_what_the_first_view_draws_and_the_view_reads_no_audio(tmp_path, monkeypatch):
    store, client = _app(tmp_path / "data")
    call = tmp_path / "call.wav"
    two_channel_call(call)
    session_id, turn_id, recording = _import(store, call)
    assert sidecar(recording).is_file()  # written when the call was stored
    with store.session() as db:
        spec = ContourSpec.of_record(db.get(Turn, turn_id).analysis)
    assert spec.channel == 0 and spec.segments
    expected = compute_contour(recording, spec, settings=DEFAULTS)
    _audio_untouched(monkeypatch)
    data = _page_data(client, session_id)
    assert len(data["turns"][0]["peaks"]) == 2 and max(data["turns"][0]["peaks"][0]) == 0.5
    assert not data["turns"][0]["missing"]
    c = client.get(f"/api/turns/{turn_id}/contour").get_json()
    assert c["loudness"] and c["pitch"] and c["join_s"] == derived.JOIN_S
    assert np.median([hz for _, hz in c["pitch"]]) == pytest.approx(200, abs=3)  # the agent's side
    assert c["loudness"] == [list(p) for p in expected.loudness] and c["pitch"] == [list(p) for p in expected.pitch]


def test_a_store_without_derived_files_gets_them_on_first_view(tmp_path, monkeypatch):
    store, client = _app(tmp_path / "data")
    call = tmp_path / "call.wav"
    two_channel_call(call)
    session_id, turn_id, recording = _import(store, call)
    sidecar(recording).unlink()  # stored before derived files existed
    reads = []
    whole = sf.read
    monkeypatch.setattr(sf, "read", lambda *a, **k: reads.append(a) or whole(*a, **k))
    first = _page_data(client, session_id)
    contour = client.get(f"/api/turns/{turn_id}/contour").get_json()
    assert reads == []  # computed block by block, never read whole
    assert sidecar(recording).is_file() and len(read_derived(recording).contours) == 1
    monkeypatch.undo()
    _audio_untouched(monkeypatch)  # the second view reads the small file only
    assert _page_data(client, session_id)["turns"][0]["peaks"] == first["turns"][0]["peaks"]
    assert client.get(f"/api/turns/{turn_id}/contour").get_json() == contour


def test_a_failure_writing_the_derived_file_never_loses_the_take(tmp_path):
    from voicerehearse.sessions import add_session, content_path

    store, client = _app(tmp_path / "data")
    call = tmp_path / "call.wav"
    two_channel_call(call)
    final = content_path(store, hashlib.sha256(call.read_bytes()).hexdigest(), ".wav")
    sidecar(final).mkdir(parents=True)  # the derived file cannot be written where it belongs
    session_id = add_session(store, trainee="Robin", scenario_id="s", scenario_title="S", source="import",
                             turns=[{"audio": call, "record": {"error": "not analysed"}}])
    assert final.read_bytes() == call.read_bytes()
    with store.session() as db:
        assert [t.audio_path for t in db.get(PracticeSession, session_id).turns] == [store.relative(final)]
    data = _page_data(client, session_id)  # the page computes what it could not read, and still cannot store it
    assert len(data["turns"][0]["peaks"]) == 2 and not data["turns"][0]["missing"]
    assert sidecar(final).is_dir() and not [p for p in final.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failure_writing_the_derived_file_never_loses_a_rehearsal_take(tmp_path):
    from voicerehearse.rehearsal.take import _analyse_and_store
    from voicerehearse.store import get_or_create_trainee

    store = Store.open(tmp_path / "data")
    folder = store.audio_dir("sessions", "1")
    wav = folder / "turn-01.wav"
    sf.write(wav, place(3.0, (0.5, voice(2.0, f0=180, seed=4)), (0.0, noise(3.0, -70))), SR)
    with store.session() as db:
        practice = PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S")
        db.add(practice)
        db.commit()
        session_id = practice.id
    sidecar(wav).mkdir()
    turn, analysis = _analyse_and_store(store, session_id, 1, "Hello?", wav, None, 0.0, None, None, DEFAULTS)
    assert analysis.speech.segments and wav.is_file()
    with store.session() as db:
        assert db.get(Turn, turn.id).audio_path == store.relative(wav)
    sidecar(wav).rmdir()
    _analyse_and_store(store, session_id, 1, "Hello?", wav, None, 0.0, None, None, DEFAULTS)  # stored again
    from voicerehearse.rehearsal.take import wait_derived

    wait_derived()  # written in a thread, after the verdict
    with store.session() as db:
        record = db.get(Turn, turn.id).analysis
    assert read_derived(wav).contour(ContourSpec.of_record(record), DEFAULTS) is not None  # what the web asks


# ---------------------------------------------------------------- memory of the first view of a long call


def _record_of_a_short_take(folder: Path) -> dict:
    from voicerehearse.pipeline import analyze_file
    from voicerehearse.schema import analysis_record

    sf.write(folder / "short.wav", place(2.0, (0.2, voice(1.5, seed=9))), SR)
    return analysis_record(analyze_file(folder / "short.wav"))


FIRST_VIEW = r"""
import json, re, sys
from pathlib import Path
from voicerehearse.web import create_app
import voicerehearse.analysis.tone, voicerehearse.derived, soxr  # imported before measuring


def peak_kb(reset=False):  # the process's peak resident memory (VmHWM); reset: set to the current size first
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


data_dir, session_id, turn_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = create_app({"TESTING": True, "DATA_DIR": data_dir, "SECRET_KEY": "test"})
client = app.test_client()
token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
client.post("/login", data={"username": "coach", "password": "coach-password", "csrf_token": token})
client.get("/")
before = peak_kb(reset=True)
page = client.get(f"/sessions/{session_id}")
contour = client.get(f"/api/turns/{turn_id}/contour")
print(json.dumps({"status": [page.status_code, contour.status_code], "grew_mb": (peak_kb() - before) / 1024,
                  "points": len(contour.get_json()["loudness"])}))
"""


@pytest.mark.slow
def test_the_first_view_of_a_long_call_stored_without_derived_files_stays_small(tmp_path):
    """A 10-minute two-channel call (37 MB as 16-bit, 77 MB as float samples) stored before derived files: its
    first view computes them block by block, so the server grows by a few blocks' worth, not by the recording."""
    from voicerehearse.accounts import add_user
    from voicerehearse.sessions import add_session

    total, sr = 600.0, 16000
    path = tmp_path / "long.wav"
    talk = voice(20.0, f0=190, syllable_hz=3, seed=5)
    with sf.SoundFile(path, "w", sr, 2, "PCM_16") as f:  # written a minute at a time
        for minute in range(int(total // 60)):
            agent = place(60.0, (0.0, noise(60.0, -60, seed=minute)), (10.0, talk))
            f.write(np.stack([agent, noise(60.0, -60, seed=100 + minute)], axis=1))
    record = _record_of_a_short_take(tmp_path)  # with the long call's speech: what the contour tracks
    record["speech"]["segments"] = [{"start": 60.0 * m + 10.0, "end": 60.0 * m + 30.0} for m in range(10)]
    store = Store.open(tmp_path / "data")
    session_id = add_session(store, trainee="Robin", scenario_id="s", scenario_title="S", source="import",
                             turns=[{"audio": path, "record": record}])
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        turn = db.scalar(select(Turn).where(Turn.session_id == session_id))
        recording = store.resolve_audio(turn.audio_path)
        db.commit()
        turn_id = turn.id
    sidecar(recording).unlink()
    out = subprocess.run([sys.executable, "-c", FIRST_VIEW, str(tmp_path / "data"), str(session_id), str(turn_id)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == [200, 200] and result["points"] > 600  # 200 s of speech at 0.3 s a point
    assert result["grew_mb"] < 50, result  # the budget; the whole-file peaks alone held 2 x 77 MB
    assert sidecar(recording).is_file()
