"""Imported calls: one code path for `import` and the web form (same verdict as `analyze` under the same
baseline rule), spoken numbers redacted in the stored transcript and audio, the call card (two channels, and the
mono banner), and `voicerehearse sessions list`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from synth import SR, noise, place, voice
from voicerehearse.importing import import_call, redact_call
from voicerehearse.pipeline import StereoLayout, analyze_file
from voicerehearse.settings import load_settings
from voicerehearse.store import PracticeSession, Store, Turn
from voicerehearse.transcribe.calls import MONO_NOTE, CallSide, CallTranscript
from voicerehearse.types import Transcript, Word

# the agent reads a card number in digits, then a phone number in words; amounts stay
AGENT = ("the card is 4111 1111 2222 3333 thanks and my phone is five five five one two three four "
         "ok twenty dollars").split()
RUN_DIGITS = (3, 6)  # word indexes (inclusive) of each number
RUN_WORDS = (12, 18)


def _word_times(i):
    return round(0.5 + i * 0.15, 3), round(0.5 + i * 0.15 + 0.13, 3)


def agent_words() -> Transcript:
    words = tuple(Word(w, *_word_times(i), 1.0) for i, w in enumerate(AGENT))
    return Transcript("vosk", "test-model", " ".join(AGENT), words)


@pytest.fixture
def call_file(tmp_path):
    agent = place(9.0, (0.5, voice(3.6, f0=160, level_db=-20, syllable_hz=4, seed=7)), (0.0, noise(9.0, -70)))
    customer = place(9.0, (5.1, voice(3.0, f0=220, level_db=-22, syllable_hz=4, seed=8)), (0.0, noise(9.0, -70, seed=2)))
    path = tmp_path / "call.wav"
    sf.write(path, np.stack([agent, customer], axis=1), SR)
    return path


@pytest.fixture
def fake_recogniser(monkeypatch):
    """transcribe_call gives known words: the agent's with two numbers, the customer's with none."""
    def transcribe_call(path, *, engine, settings, channels=None):
        if not channels:
            return CallTranscript((CallSide("mixed", None, agent_words()),), MONO_NOTE)
        customer = Transcript("vosk", "test-model", "hello", (Word("hello", 5.2, 5.5, 1.0),))
        return CallTranscript((CallSide("agent", channels["agent"], agent_words()),
                               CallSide("customer", channels["customer"], customer)))

    monkeypatch.setattr("voicerehearse.transcribe.calls.transcribe_call", transcribe_call)
    return object()  # the engine handed to import_call (never used by the fake)


def test_redact_call_masks_numbers_in_digits_and_words():
    call, spans = redact_call(CallTranscript((CallSide("agent", 0, agent_words()),)), min_digits=7)
    assert [(s.first, s.last) for s in spans] == [RUN_DIGITS, RUN_WORDS]
    words = [w.word for w in call.side("agent").words]
    assert words.count("[redacted]") == 2 and "twenty" in words and "dollars" in words  # an amount stays
    assert not any(ch.isdigit() for w in words for ch in w) and "five" not in words


def stored(store, session_id):
    with store.session() as db:
        turn = db.get(PracticeSession, session_id).turns[0]
        return turn.analysis, store.resolve_audio(turn.audio_path)


def test_import_redacts_transcript_and_audio_and_drops_the_original(tmp_path, call_file, fake_recogniser):
    store = Store.open(tmp_path / "data")
    settings = load_settings()
    result = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=fake_recogniser,
                         settings=settings)
    assert result.numbers_redacted == 2
    record, audio = stored(store, result.session_id)
    agent_side = next(s for s in record["call_transcript"]["sides"] if s["side"] == "agent")
    for words in (agent_side["words"], record["transcript"]["words"]):
        texts = [w["word"] for w in words]
        assert texts.count("[redacted]") == 2 and "4111" not in texts and "five" not in texts
    assert "4111" not in json.dumps(record) and "five five" not in json.dumps(record)
    assert record["redaction"] == {"enabled": True, "checked": True, "numbers": 2, "audio": "silence",
                                   "original_kept": False}
    y, sr = sf.read(audio, always_2d=True)
    assert y.shape[1] == 2
    start, end = _word_times(RUN_DIGITS[0])[0], _word_times(RUN_DIGITS[1])[1]
    inside = y[int(start * sr):int(end * sr)]
    assert np.abs(inside).max() == 0.0  # silenced on both channels
    before = y[int(0.5 * sr):int((start - settings.redact_pad_s - 0.02) * sr), 0]
    assert np.abs(before).max() > 0.01  # the rest is still there
    original = sf.read(call_file, always_2d=True)[0]
    assert np.abs(original[int(start * sr):int(end * sr), 0]).max() > 0.01  # the numbers were audible
    assert not (store.audio_root / "originals").exists()


def test_the_original_is_kept_only_when_the_setting_says_so(tmp_path, call_file, fake_recogniser):
    store = Store.open(tmp_path / "data")
    settings = load_settings(overrides={"redact_keep_original": True, "redact_beep": True})
    result = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=fake_recogniser,
                         settings=settings)
    kept = store.audio_root / "originals" / str(result.session_id) / "original.wav"
    assert kept.read_bytes() == call_file.read_bytes()
    record, audio = stored(store, result.session_id)
    assert record["redaction"]["original_kept"] and record["redaction"]["audio"] == "beep"
    y, sr = sf.read(audio, always_2d=True)
    start = _word_times(RUN_DIGITS[0])[0]
    beep = y[int(start * sr):int((start + 0.2) * sr), 0]
    spectrum = np.abs(np.fft.rfft(beep))
    assert abs(np.argmax(spectrum) * sr / len(beep) - 1000) < 10  # a 1 kHz beep


def test_redaction_off_stores_the_words_as_heard(tmp_path, call_file, fake_recogniser):
    store = Store.open(tmp_path / "data")
    result = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=fake_recogniser,
                         settings=load_settings(overrides={"redact_imports": False}))
    record, audio = stored(store, result.session_id)
    assert "4111" in json.dumps(record) and result.numbers_redacted == 0
    assert sf.read(audio)[0].shape == sf.read(call_file)[0].shape


@pytest.mark.parametrize("rule", ["none", "latest"])
def test_import_and_analyze_give_the_same_verdict(tmp_path, call_file, rule):
    from voicerehearse.pipeline import measure_baseline
    from voicerehearse.schema import analysis_record
    from voicerehearse.store import BaselineRecord, get_or_create_trainee

    store = Store.open(tmp_path / "data")
    settings = load_settings()
    read = tmp_path / "calm.wav"
    sf.write(read, place(5.0, (0.3, voice(4.0, f0=150, level_db=-30, syllable_hz=4, seed=5)),
                         (0.0, noise(5.0, -70))), SR)
    baseline = measure_baseline(read)
    with store.session() as db:
        db.add(BaselineRecord(trainee=get_or_create_trainee(db, "Robin"), audio_path="audio/baselines/calm.wav",
                              measures=BaselineRecord.measures_of(baseline)))
        db.commit()
    result = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=None,
                         settings=settings, baseline=rule)
    analysed = analysis_record(analyze_file(call_file, stereo=StereoLayout(0, 1), settings=settings,
                                            baseline=baseline if rule == "latest" else None))
    record, _ = stored(store, result.session_id)
    assert record["delivery"] == analysed["delivery"] and record["tone"] == analysed["tone"]
    assert (record["tone"]["baseline"] == "absolute defaults") == (rule == "none")
    assert record["redaction"]["checked"] is False  # no transcript: nothing to check


def test_call_card_of_a_two_channel_call_and_the_mono_banner(tmp_path, call_file, fake_recogniser):
    from test_web import login
    from voicerehearse.accounts import add_user
    from voicerehearse.web import create_app

    store = Store.open(tmp_path / "data")
    settings = load_settings()
    two = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=fake_recogniser,
                      settings=settings).session_id
    mono = import_call(store, call_file, trainee="Robin", engine=fake_recogniser, settings=settings).session_id
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        db.commit()
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t"})
    c = app.test_client()
    login(c)
    html = c.get(f"/sessions/{two}").get_data(as_text=True)
    assert "Agent talk ratio" in html and "Customer talk-overs" in html and "sides-not-separated" not in html
    assert "2 spoken numbers" in html and "[redacted]" in html and "4111" not in html
    html = c.get(f"/sessions/{mono}").get_data(as_text=True)
    assert 'data-label="sides-not-separated"' in html and "Agent talk ratio" not in html
    export = c.get(f"/sessions/{mono}/export.html").get_data(as_text=True)
    assert 'data-label="sides-not-separated"' in export and "4111" not in export


def test_call_card_figures(tmp_path, call_file):
    from voicerehearse.review import call_card

    a = analyze_file(call_file, stereo=StereoLayout(0, 1))
    card = call_card(a, load_settings(overrides={"dead_air_min_s": 0.8}))
    assert card.separated and 0.5 < card.agent_share < 0.6  # 3.6 s of 6.6 s
    assert 3.0 < card.longest_monologue_s < 4.0
    assert card.switches_per_min == pytest.approx(60 / 9.0, abs=0.1)  # one switch in 9 s
    assert card.patience_s is None  # the agent never answers the customer here: the customer speaks last
    assert [round(g.end - g.start, 1) for g in card.dead_air] == [pytest.approx(1.0, abs=0.15)]  # 4.1 -> 5.1 s
    assert call_card(a, load_settings()).dead_air == ()  # shorter than the default 5 s
    assert card.agent_takeovers == 0 and card.customer_talk_overs == 0


def test_sessions_list_cli(tmp_path, call_file):
    from voicerehearse.cli import main

    store = Store.open(tmp_path / "data")
    sid = import_call(store, call_file, trainee="Robin", stereo=StereoLayout(0, 1), engine=None,
                      settings=load_settings()).session_id
    import_call(store, call_file, trainee="Sam", engine=None, settings=load_settings())
    from voicerehearse.store import SessionReview

    with store.session() as db:
        db.add(SessionReview(session_id=sid, status="disputed", reason="not me"))
        db.commit()
    runner = CliRunner()
    out = runner.invoke(main, ["sessions", "list", "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 0, out.output
    assert "Robin" in out.output and "Sam" in out.output and "disputed" in out.output
    out = runner.invoke(main, ["sessions", "list", "--json", "--status", "disputed", "--data-dir",
                               str(tmp_path / "data")])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [(r["id"], r["trainee"], r["dispute_reason"]) for r in rows] == [(sid, "Robin", "not me")]
    out = runner.invoke(main, ["sessions", "list", "--trainee", "Nobody", "--data-dir", str(tmp_path / "data")])
    assert out.output.strip() == "No sessions."


def test_a_call_whose_file_name_is_not_utf8_imports(tmp_path):
    import os

    import soundfile as sf
    from click.testing import CliRunner

    from synth import SR, voice
    from voicerehearse.cli import main

    path = tmp_path / os.fsdecode(b"caf\xe9-call.wav")
    sf.write(tmp_path / "plain.wav", voice(3.0, syllable_hz=4), SR)
    (tmp_path / "plain.wav").rename(path)
    r = CliRunner().invoke(main, ["import", str(path), "--trainee", "Robin", "--engine", "none",
                                  "--data-dir", str(tmp_path / "data")])
    assert r.exit_code == 0, r.output
    assert "Stored session" in r.output or "session" in r.output.lower()


def test_a_failed_import_names_the_users_file_not_the_temporary_upload(tmp_path):
    """A background import runs on a temporary upload file: its error speaks of the file the user chose."""
    from voicerehearse.errors import ConfigError

    y = place(6.0, (0.5, voice(4.0, f0=160, level_db=-20, syllable_hz=4, seed=7)), (0.0, noise(6.0, -70)))
    path = tmp_path / "uploads" / "tmpabc123.wav"
    path.parent.mkdir()
    sf.write(path, np.stack([y, 0.9 * y], axis=1), SR)  # a mono recording saved as two channels
    with pytest.raises(ConfigError) as raised:
        import_call(Store.open(tmp_path / "data"), path, trainee="Robin", display_name="monday call.wav",
                    stereo=StereoLayout.parse("agent=0,customer=1"), engine=None, settings=load_settings())
    message = str(raised.value)
    assert "monday call.wav" in message and "same sound" in message
    assert "tmpabc123" not in message and str(tmp_path) not in message
    assert raised.value.field == "stereo"
