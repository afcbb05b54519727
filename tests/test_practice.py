"""`voicerehearse practice` end to end through PortAudio and the ALSA virtual microphone (in subprocesses)."""

from __future__ import annotations

import re

import pytest
import soundfile as sf
from sqlalchemy import select

from synth import SR, place
from test_practice_support import customer, run_cli, trainee, virtual_mic, write_pack
from voicerehearse.store import BaselineRecord, PracticeSession, Store, Turn

LEAD_IN_S = 0.3  # RehearsalOptions.lead_in_s: the customer's line starts this far into every take


def _session(data_dir):
    store = Store.open(data_dir)
    with store.session() as db:
        sessions = db.scalars(select(PracticeSession)).all()
        assert len(sessions) == 1
        session = sessions[0]
        turns = db.scalars(select(Turn).where(Turn.session_id == session.id).order_by(Turn.index)).all()
        baselines = db.scalars(select(BaselineRecord)).all()
        return store, session, turns, baselines


@pytest.fixture(scope="module")
def whole_scenario(tmp_path_factory):
    """A three-turn scenario with a calibration read; turn 2 barges in while the customer still speaks."""
    tmp = tmp_path_factory.mktemp("whole")
    prompts = [customer(seed=i) for i in (1, 2, 3)]  # each 2 s: plays 0.3 .. 2.3 s of its take
    pack = write_pack(tmp / "packs", prompts)
    replies = tmp / "replies"
    replies.mkdir()
    sf.write(replies / "calibration.wav", place(4.0, (0.4, trainee(3.0, seed=9))), SR)
    sf.write(replies / "turn-1.wav", place(4.5, (2.9, trainee(1.5, seed=10))), SR)
    sf.write(replies / "turn-2.wav", place(4.5, (1.2, trainee(2.5, seed=11))), SR)  # starts 1.1 s before the end
    sf.write(replies / "turn-03.wav", place(4.5, (3.1, trainee(1.4, seed=12))), SR)
    env = virtual_mic(tmp / "mic")  # a quiet room: the replies are mixed into what the device records
    out = run_cli("practice", [str(pack), "--replies", replies, "--data-dir", tmp / "data", "--trainee", "Dana",
                               "--engine", "none", "--end-silence", "0.8"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    return tmp, out


def test_whole_scenario_stores_every_turn_with_its_analysis(whole_scenario):
    tmp, out = whole_scenario
    store, session, turns, baselines = _session(tmp / "data")
    assert session.status == "complete" and session.ended_at is not None
    assert session.scenario_id == "test-call"
    assert [t.index for t in turns] == [0, 1, 2]  # turns 1-3, stored 0-based like every other session
    for t in turns:
        assert t.analysis["schema"] == "voicerehearse.analysis/1"
        assert t.label in ("assertive", "aggressive", "passive")
        assert t.customer_text == f"Customer line {t.index + 1}."
        assert t.prompt_start_s == pytest.approx(LEAD_IN_S)
        wav = store.resolve_audio(t.audio_path)
        assert wav.suffix == ".wav" and wav.is_file()
        assert not list(wav.parent.glob("*.part"))
    assert len(baselines) == 1 and session.baseline_id == baselines[0].id
    assert store.resolve_audio(baselines[0].audio_path).is_file()
    assert turns[0].analysis["tone"]["baseline"] == baselines[0].to_baseline().source
    assert "Saved session" in out.stdout and "/sessions/" in out.stdout


def test_verdict_and_reasons_within_a_second_of_the_reply_ending(whole_scenario):
    _, out = whole_scenario
    delays = [float(d) for d in re.findall(r"verdict (\d+\.\d+) s after your reply", out.stdout)]
    assert len(delays) == 3 and max(delays) < 1.0
    assert out.stdout.count("Talking over the customer") == 1  # the barge-in is one coaching point, once


def test_timestamps_come_from_sample_counts(whole_scenario):
    tmp, _ = whole_scenario
    _, _, turns, _ = _session(tmp / "data")
    turn = turns[0].analysis["turn"]
    # the reply file starts speaking at 2.9 s of the take; the customer's line ends at 0.3 + 2.0 s
    assert turn["reply_start_s"] == pytest.approx(2.9, abs=0.05)
    assert turn["prompt_end_s"] == pytest.approx(2.3, abs=0.05)


def test_barge_in_is_an_interruption_and_a_late_reply_is_not(whole_scenario):
    tmp, out = whole_scenario
    _, _, turns, _ = _session(tmp / "data")
    assert [t.interrupted for t in turns] == [False, True, False]
    assert turns[1].response_latency_s < 0
    assert out.stdout.count("you're talking over the customer") == 1  # the live warning, once


def _one_turn(tmp, mic, reply, *extra):
    prompt = customer(seed=4)
    pack = write_pack(tmp / "packs", [prompt])
    replies = tmp / "replies"
    replies.mkdir()
    sf.write(replies / "turn-1.wav", reply, SR)
    env = virtual_mic(tmp / "mic", mic(prompt))
    out = run_cli("practice", [pack, "--replies", replies, "--data-dir", tmp / "data", "--engine", "none",
                               "--skip-calibration", "--end-silence", "0.8", *extra], env)
    assert out.returncode == 0, out.stdout + out.stderr
    return _session(tmp / "data")[2][0]


def _bleed(prompt):
    """The customer's line as the mic hears it from speakers: -20 dB, 30 ms late."""
    return place(LEAD_IN_S + 2.5, (LEAD_IN_S + 0.030, 0.1 * prompt))


def test_bleed_from_speakers_is_not_an_interruption(tmp_path):
    turn = _one_turn(tmp_path, _bleed, place(4.5, (2.8, trainee(1.5))), "--speakers")
    assert turn.analysis["turn"]["bleed_detected"] is True
    assert turn.analysis["turn"]["bleed_delay_s"] == pytest.approx(0.03, abs=0.01)
    assert turn.interrupted is False
    assert turn.response_latency_s > 0


def test_barge_in_over_bleed_is_still_an_interruption(tmp_path):
    turn = _one_turn(tmp_path, _bleed, place(4.5, (1.0, trainee(2.5))), "--speakers")
    assert turn.analysis["turn"]["bleed_detected"] is True
    assert turn.interrupted is True


def test_replies_dir_must_exist(tmp_path):
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("practice", ["late-fee-waiver", "--replies", tmp_path / "nope", "--data-dir", tmp_path / "d"], env)
    assert out.returncode == 2 and "is not a folder" in out.stderr


def test_unknown_scenario_is_one_line(tmp_path):
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("practice", ["no-such-call", "--data-dir", tmp_path / "d"], env)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("Error: unknown scenario 'no-such-call'")
    assert len(out.stderr.strip().splitlines()) == 1


def _builtin_ids():
    from voicerehearse.scenarios import load_scenarios

    return [s.id for s in load_scenarios(user_dirs=(), env={})]


@pytest.mark.parametrize("scenario_id", _builtin_ids())
def test_builtin_scenario_scripted_end_to_end(tmp_path, scenario_id):
    """Every shipped pack, scripted: espeak-ng speaks the lines when installed (else a cue tone), each reply is
    placed 0.4 s after the line, the customer follows the branches to an end of call."""
    from voicerehearse.audio.playback import espeak_available
    from voicerehearse.scenarios import find_scenario

    scenario = find_scenario(scenario_id, user_dirs=())
    replies = tmp_path / "replies"
    replies.mkdir()
    for i in range(1, len(scenario.turns) + 1):
        sf.write(replies / f"turn-{i}.wav", place(2.5, (0.0, trainee(2.0, seed=20 + i))), SR)
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("practice", [scenario_id, "--replies", replies, "--data-dir", tmp_path / "data",
                               "--engine", "none", "--skip-calibration", "--reply-at", "prompt-end+0.4"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert ("espeak-ng" if espeak_available() else "cue tone") in out.stdout
    store, session, turns, _ = _session(tmp_path / "data")
    assert session.scenario_id == scenario_id and session.status == "complete" and session.baseline_id is None
    assert turns and all(t.analysis and not t.interrupted for t in turns)
    assert [t.index for t in turns] == list(range(len(turns)))
    assert all(store.resolve_audio(t.audio_path).is_file() for t in turns)
    assert turns[0].customer_text == scenario.turns[0].customer
    outcome = turns[-1].analysis["practice"]["outcome"]
    assert outcome in ("resolved", "escalated", "hung_up") and "Call ended:" in out.stdout
    assert "✓" in out.stdout and "_" not in re.sub(r"\S*/\S*", "", out.stdout.split("Saved session")[0])


def test_without_a_vosk_model_words_come_from_the_labelled_fallback(tmp_path):
    import shutil
    import subprocess

    import numpy as np

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    wav = tmp_path / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "I understand. Let me fix that for you today."],
                   check=True)
    speech, sr = sf.read(wav, dtype="float32")
    from voicerehearse.audio.io import resample

    speech = resample(speech, orig_sr=sr, target_sr=SR) * 0.5
    reply = place(3.0 + speech.size / SR, (2.8, speech))
    prompt = customer(seed=4)
    pack = write_pack(tmp_path / "packs", [prompt])
    replies = tmp_path / "replies"
    replies.mkdir()
    sf.write(replies / "turn-1.wav", reply, SR)
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("practice", [pack, "--replies", replies, "--data-dir", tmp_path / "data", "--engine", "auto",
                               "--skip-calibration", "--end-silence", "0.8"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    turn = _session(tmp_path / "data")[2][0]
    transcript = turn.analysis["transcript"]
    assert transcript is not None and transcript["words"]
    if transcript["engine"] == "pocketsphinx":  # no Vosk model on this machine
        assert "Rough fallback" in transcript["note"] and "PocketSphinx" in out.stdout
    starts = [w["start"] for w in transcript["words"]]
    assert starts == sorted(starts) and starts[0] >= 2.7 - 0.1  # the words are the reply's, in take time
    assert np.isfinite(turn.words_per_minute)


# --- where takes live: one folder per trainee (database id + readable name), whatever the script


def test_trainee_folders_keep_non_latin_names_apart():
    from voicerehearse.rehearsal import trainee_folder

    assert trainee_folder(3, "Анна") == "анна-3" and trainee_folder(4, "Иван") == "иван-4"
    assert trainee_folder(5, "Dana O'Neil") == "dana-o-neil-5"
    assert trainee_folder(6, "李雷") == "李雷-6" and trainee_folder(7, "../..") == "trainee-7"
    assert trainee_folder(8, "Анна") != trainee_folder(3, "Анна")  # same name, different trainee


def test_baselines_of_cyrillic_trainees_never_share_a_folder(tmp_path, monkeypatch):
    from contextlib import contextmanager

    from test_practice_support import blocks_of
    from voicerehearse import rehearsal
    from voicerehearse.rehearsal import RehearsalOptions, calibrate
    from voicerehearse.settings import load_settings

    read = place(6.0, (0.5, trainee(4.0, seed=5)))

    @contextmanager
    def open_blocks(options, prompt, reply_path):
        yield rehearsal.InputFeed(iter(blocks_of(read)), None)

    monkeypatch.setattr("voicerehearse.rehearsal.take.open_blocks", open_blocks)
    store = Store.open(tmp_path / "data")
    records = {name: calibrate(store, name, RehearsalOptions(speak=False), settings=load_settings())
               for name in ("Анна", "Иван")}
    again = calibrate(store, "Анна", RehearsalOptions(speak=False), settings=load_settings())  # same second, likely
    paths = [store.resolve_audio(r.audio_path) for r in (*records.values(), again)]
    assert [p.parent.parent.name for p in paths] == ["анна-1", "иван-2", "анна-1"]
    assert len(set(paths)) == 3 and all(sf.info(p).duration > 1.0 for p in paths)
    with store.session() as db:
        assert len(db.scalars(select(BaselineRecord)).all()) == 3
    assert not list((tmp_path / "data" / "audio").rglob("*.take.json"))
