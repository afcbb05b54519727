"""Nothing lost: SIGKILL mid-take (recovered at the next start), Ctrl-C, device failure and a full disk."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import struct
import time
from contextlib import contextmanager

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from synth import SR, place
from test_practice_support import blocks_of, customer, fill_disk_after, run_cli, start_cli, trainee, virtual_mic, write_pack
from voicerehearse import rehearsal
from voicerehearse.audio import takes
from voicerehearse.errors import DeviceError
from voicerehearse.rehearsal import RehearsalOptions, recovery, run_session
from voicerehearse.scenarios import load_pack
from voicerehearse.settings import load_settings
from voicerehearse.store import PracticeSession, Store, StoreError, Turn, get_or_create_trainee


def _wait_for_part(folder, seconds_of_audio: float, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list(folder.rglob("turn-01.part"))
        if parts and parts[0].stat().st_size >= 2 * SR * seconds_of_audio:
            return parts[0]
        time.sleep(0.02)
    raise AssertionError("the take never reached the disk")


def _long_reply_setup(tmp_path):
    """A one-turn scenario; the mic hears a trainee who keeps talking (the take runs until stopped)."""
    pack = write_pack(tmp_path / "packs", [customer(seed=3, duration_s=1.0)])
    mic = place(30.0, (0.0, trainee(30.0, seed=7)))
    env = virtual_mic(tmp_path / "mic", mic, tail_s=0.0)
    args = [pack, "--data-dir", tmp_path / "data", "--engine", "none", "--skip-calibration", "--no-speak"]
    return pack, mic, env, args


def test_sigkill_mid_take_loses_at_most_half_a_second_and_is_recovered_at_next_start(tmp_path):
    pack, mic, env, args = _long_reply_setup(tmp_path)
    frames_file = tmp_path / "delivered-frames"
    env["VR_TEST_FRAMES_FILE"] = str(frames_file)
    proc = start_cli("practice", args, env, clocked=True)  # paced like a real device
    try:
        part = _wait_for_part(tmp_path / "data", 1.5)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    delivered = struct.unpack("<q", frames_file.read_bytes()[:8])[0]  # what the device had handed over at death
    # nothing finalised: the raw take and its sidecar are what is left
    assert part.exists() and part.with_name("turn-01.take.json").exists()

    # the next start recovers it (no device needed for that: a missing scenario fails right after recovery)
    out = run_cli("practice", ["no-such-scenario", "--data-dir", tmp_path / "data"], env)
    assert "Recovered" in out.stdout and "turn 1 of session 1" in out.stdout, out.stdout + out.stderr
    assert not part.exists()
    wav = part.with_name("turn-01.wav")
    data, sr = sf.read(wav, dtype="int16")
    assert sr == SR and data.size >= 1.5 * SR
    assert delivered - data.size <= 0.5 * SR  # at most 0.5 s lost
    expected = np.clip(np.round(mic * 32767), -32768, 32767).astype(np.int16)
    assert np.array_equal(data, expected[: data.size])  # the mic's samples, in order, nothing missing in between

    store = Store.open(tmp_path / "data")
    with store.session() as db:
        session = db.scalars(select(PracticeSession)).one()
        turn = db.scalars(select(Turn)).one()
        assert session.status == "recovered" and "turn 1" in session.note
        assert turn.index == 0 and store.resolve_audio(turn.audio_path) == wav.resolve()  # turn 1, stored 0-based
        assert turn.analysis["schema"] == "voicerehearse.analysis/1" and turn.prompt_start_s == pytest.approx(0.3)


def test_ctrl_c_ends_cleanly_and_keeps_the_take(tmp_path):
    pack, mic, env, args = _long_reply_setup(tmp_path)
    proc = start_cli("practice", args, env, clocked=True)
    try:
        _wait_for_part(tmp_path / "data", 1.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert "Traceback" not in out and "stopped with Ctrl-C during turn 1" in out
    assert not list((tmp_path / "data").rglob("*.part"))
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        session = db.scalars(select(PracticeSession)).one()
        turn = db.scalars(select(Turn)).one()
        assert session.status == "complete" and "Ctrl-C" in session.note
        assert turn.duration_s >= 1.5 and turn.analysis is not None


# --- in-process: failures of the block source or the disk during a session (no device needed)


@pytest.fixture
def one_turn(tmp_path, monkeypatch):
    pack = write_pack(tmp_path / "packs", [customer(seed=2, duration_s=1.0)])
    store = Store.open(tmp_path / "data")
    reply = place(8.0, (1.5, trainee(3.0)))

    def fake_blocks(fail_after_s=None):
        @contextmanager
        def open_blocks(options, prompt, reply_path):
            def gen():
                for i, b in enumerate(blocks_of(reply)):
                    if fail_after_s is not None and i * 800 >= fail_after_s * SR:
                        raise DeviceError("the input device stopped (unplugged?)")
                    yield b
            yield rehearsal.InputFeed(gen(), None)
        monkeypatch.setattr("voicerehearse.rehearsal.take.open_blocks", open_blocks)

    return load_pack(pack), store, fake_blocks


def _run(scenario, store):
    return run_session(store, scenario, "Dana", RehearsalOptions(speak=False), settings=load_settings())


def test_device_failure_mid_take_stops_with_a_message_and_keeps_the_audio(one_turn):
    scenario, store, fake_blocks = one_turn
    fake_blocks(fail_after_s=2.5)
    outcome = _run(scenario, store)
    assert "input device stopped" in outcome.stopped and "kept 2.5 s of turn 1" in outcome.stopped
    assert sf.info(outcome.turns[0].audio).duration == pytest.approx(2.5)
    with store.session() as db:
        assert db.scalars(select(Turn)).one().analysis is not None


def test_disk_full_mid_take_stops_with_a_message_and_keeps_the_audio(one_turn, monkeypatch):
    scenario, store, fake_blocks = one_turn
    fake_blocks()
    fill_disk_after(monkeypatch, 40)
    outcome = _run(scenario, store)
    assert "the disk is full" in outcome.stopped and "kept 2.0 s" in outcome.stopped
    assert sf.info(outcome.turns[0].audio).frames == 40 * 800


def test_a_full_disk_that_also_blocks_the_wav_leaves_the_take_for_recovery(one_turn, monkeypatch):
    scenario, store, fake_blocks = one_turn
    fake_blocks()

    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".wav"):  # the sidecar still fits, the finished WAV does not
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(takes.os, "replace", replace)
    with pytest.raises(takes.TakeStorageError, match="will be recovered at the next start"):
        _run(scenario, store)
    monkeypatch.undo()
    recovered = rehearsal.recover(store, settings=load_settings())
    assert len(recovered) == 1 and recovered[0].problem is None and recovered[0].stored == "turn 1 of session 1"
    end_silence_s = load_settings().reply_end_silence_s
    assert recovered[0].take.duration_s == pytest.approx(4.5 + end_silence_s, abs=0.1)  # speech end + pause
    with store.session() as db:
        assert db.scalars(select(Turn)).one().analysis is not None
        assert db.scalars(select(PracticeSession)).one().status == "recovered"


def test_ctrl_c_between_turns_closes_the_session(one_turn):
    scenario, store, fake_blocks = one_turn
    fake_blocks()

    class View(rehearsal.NullView):
        def ready(self, scenario, step):
            raise KeyboardInterrupt

    outcome = run_session(store, scenario, "Dana", RehearsalOptions(speak=False), settings=load_settings(), view=View())
    assert outcome.stopped == "stopped with Ctrl-C before turn 1" and outcome.turns == []
    with store.session() as db:
        session = db.scalars(select(PracticeSession)).one()
        assert session.status == "complete" and session.note == outcome.stopped


# --- recovery stores one take at a time; a failed store loses nothing


def _crashed_takes(store, n=2):
    """A session row and ``n`` takes of it left behind by a SIGKILL (``.part`` + sidecar, unlocked)."""
    with store.session() as db:
        t = get_or_create_trainee(db, "Dana")
        session = PracticeSession(trainee_id=t.id, scenario_id="test-call", scenario_title="Test", status="recording")
        db.add(session)
        db.commit()
        session_id = session.id
    folder = store.audio_dir("dana-1", f"session-{session_id:05d}")
    parts = []
    for index in range(1, n + 1):
        writer = takes.TakeWriter(folder / f"turn-{index:02d}", sample_rate=SR,
                                    meta={"kind": "turn", "session_id": session_id, "turn": index,
                                          "customer_text": f"Line {index}.", "prompt_start_s": 0.0})
        for b in blocks_of(place(4.0, (0.5, trainee(3.0, seed=index)))):
            writer.write(b)
        writer.close()  # what a SIGKILL leaves
        parts.append(writer.part)
    return session_id, parts


@pytest.mark.parametrize("failure", [
    sqlite3.OperationalError("database is locked"),
    OperationalError("UPDATE turns", {}, sqlite3.OperationalError("database is locked")),
    OSError(errno.EIO, "Input/output error"),
])
def test_a_failed_store_loses_no_take_and_the_next_recovery_stores_both(tmp_path, monkeypatch, failure):
    store = Store.open(tmp_path / "data")
    session_id, parts = _crashed_takes(store)
    real = recovery._analyse_and_store
    calls = []

    def flaky(store_, sid, index, *args, **kw):
        calls.append(index)
        if index == 1:
            raise failure
        return real(store_, sid, index, *args, **kw)

    monkeypatch.setattr(recovery, "_analyse_and_store", flaky)
    first = rehearsal.recover(store, settings=load_settings())  # no traceback: reported per take
    assert [r.stored for r in first] == ["not stored yet", "turn 2 of session 1"]
    assert first[0].problem.startswith(f"{type(failure).__name__}: ") and "next start" in first[0].problem
    assert "\n" not in first[0].problem
    assert first[1].problem is None
    wav1, wav2 = (p.with_name(p.name.replace(".part", ".wav")) for p in parts)
    assert not any(p.exists() for p in parts) and wav1.is_file() and wav2.is_file()
    assert wav1.with_name("turn-01.take.json").exists()  # still linked to its session and turn
    assert not wav2.with_name("turn-02.take.json").exists()  # stored: nothing left to do

    monkeypatch.setattr(recovery, "_analyse_and_store", real)
    second = rehearsal.recover(store, settings=load_settings())
    assert [(r.stored, r.problem) for r in second] == [("turn 1 of session 1", None)]
    assert second[0].take.wav == wav1 and second[0].take.duration_s == pytest.approx(4.0)
    assert rehearsal.recover(store, settings=load_settings()) == []
    with store.session() as db:
        turns = db.scalars(select(Turn).order_by(Turn.index)).all()
        assert [t.index for t in turns] == [0, 1] and all(t.analysis is not None for t in turns)
        assert [t.analysis["practice"]["turn"] for t in turns] == [1, 2]
        assert [store.resolve_audio(t.audio_path) for t in turns] == [wav1.resolve(), wav2.resolve()]
        assert turns[0].customer_text == "Line 1."
        assert db.get(PracticeSession, session_id).status == "recovered"


def test_a_crash_right_after_conversion_is_finished_by_the_next_recovery(tmp_path):
    store = Store.open(tmp_path / "data")
    _, (part,) = _crashed_takes(store, n=1)
    take = takes.recover_take(part)  # converted to WAV ... and the process dies before storing it
    take.release()
    assert not part.exists() and take.wav.is_file()
    (r,) = rehearsal.recover(store, settings=load_settings())
    assert (r.stored, r.problem) == ("turn 1 of session 1", None) and r.take.wav == take.wav
    with store.session() as db:
        assert db.scalars(select(Turn)).one().analysis is not None


def test_a_take_that_cannot_be_converted_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    store = Store.open(tmp_path / "data")
    _, parts = _crashed_takes(store)
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("turn-01.wav"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(takes.os, "replace", replace)
    first = rehearsal.recover(store, settings=load_settings())
    assert "disk is full" in first[0].problem and first[1].stored == "turn 2 of session 1"
    assert parts[0].exists()  # the raw take waits for the next start
    monkeypatch.undo()
    assert [r.stored for r in rehearsal.recover(store, settings=load_settings())] == ["turn 1 of session 1"]


# --- a failure between the session insert and its final status still ends the session


def _status(store):
    with store.session() as db:
        return db.scalars(select(PracticeSession)).one()


def test_a_prompt_that_cannot_be_written_stops_the_session_with_its_reason(one_turn, monkeypatch):
    scenario, store, fake_blocks = one_turn
    fake_blocks()

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sf, "write", no_space)
    with pytest.raises(takes.TakeStorageError, match="cannot write .*turn-01-customer.wav") as err:
        _run(scenario, store)
    session = _status(store)
    assert session.status == "stopped" and session.note == str(err.value) and session.ended_at is not None


def test_a_database_failure_while_storing_a_turn_stops_the_session_and_keeps_the_take(one_turn, monkeypatch):
    scenario, store, fake_blocks = one_turn
    fake_blocks()

    def locked(*a, **k):
        raise OperationalError("INSERT INTO turns", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr("voicerehearse.rehearsal.take._analyse_and_store", locked)
    with pytest.raises(StoreError, match="database is locked.*will be stored at the next start") as err:
        _run(scenario, store)
    session = _status(store)
    assert session.status == "stopped" and session.note == str(err.value)
    assert str(err.value).startswith("cannot store turn 1 of session 1: OperationalError: database is locked;")
    monkeypatch.undo()
    (r,) = rehearsal.recover(store, settings=load_settings())
    assert (r.stored, r.problem) == ("turn 1 of session 1", None)
    assert _status(store).status == "recovered"


def test_an_unexpected_error_still_ends_the_session(one_turn, monkeypatch):
    scenario, store, fake_blocks = one_turn
    fake_blocks()

    def boom(*a, **k):
        raise RuntimeError("prompt synthesis crashed")

    monkeypatch.setattr("voicerehearse.rehearsal.take.prompt_audio", boom)
    with pytest.raises(RuntimeError):
        _run(scenario, store)
    session = _status(store)
    assert session.status == "stopped" and session.note == "prompt synthesis crashed"


def test_a_completed_session_is_complete(one_turn):
    scenario, store, fake_blocks = one_turn
    fake_blocks()
    outcome = _run(scenario, store)
    assert outcome.stopped is None and _status(store).status == "complete"
    assert not list((store.data_dir / "audio").rglob("*.take.json"))  # stored: no sidecar left for recovery
