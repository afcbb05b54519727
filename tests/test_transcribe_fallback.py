"""The rough PocketSphinx fallback on espeak-ng English speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from voicerehearse.transcribe import models, sphinx_engine
from voicerehearse.transcribe.engine import transcribe_blocks, transcribe_file
from voicerehearse.types import Word

SENTENCE = "I am sorry. I will call you back tomorrow morning. Thank you for your patience."
EXPECTED = {"sorry", "will", "call", "you", "back", "tomorrow", "morning", "thank", "your", "patience"}


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> tuple[Path, float]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): it synthesises the test speech")
    path = tmp_path_factory.mktemp("en") / "en.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), SENTENCE], check=True, capture_output=True)
    return path, sf.info(str(path)).duration


@pytest.fixture(scope="module")
def fallback(english):
    return transcribe_file(english[0], engine="pocketsphinx")


def test_recognises_some_expected_words_with_timings(english, fallback):
    duration = english[1]
    t = fallback
    found = EXPECTED & {w.word for w in t.words}
    assert len(found) >= 3, t.text
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start < w.end <= duration + 0.05 for w in t.words)
    assert all(not w.word.startswith(("<", "[")) and "(" not in w.word for w in t.words)


def test_fallback_is_labelled_rough(fallback):
    t = fallback
    assert t.engine == "pocketsphinx"
    assert t.note == sphinx_engine.FALLBACK_NOTE and "rough" in t.note.lower()
    assert "models fetch vosk-model-small-en-us-0.15" in t.note


def test_auto_falls_back_when_no_vosk_model(english, monkeypatch, tmp_path):
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    monkeypatch.delenv("VOICEREHEARSE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(models, "REPO_MODELS_DIR", tmp_path / "audio_models")
    t = transcribe_file(english[0])
    assert t.engine == "pocketsphinx" and t.note


def test_streaming_partials_and_resampled_stereo(english):
    path, duration = english
    y, sr = sf.read(path, dtype="float32")
    import soxr

    y48 = soxr.resample(y, sr, 48000)
    stereo = np.stack([y48, y48], axis=1)
    partials = []
    t = transcribe_blocks((stereo[i : i + 4800] for i in range(0, len(stereo), 4800)), sample_rate=48000,
                          engine="pocketsphinx", on_partial=partials.append)
    assert len(EXPECTED & {w.word for w in t.words}) >= 3, t.text
    assert t.words[-1].end <= duration + 0.05
    assert any(p.words for p in partials[:-1])
    assert all(p.note for p in partials)


def test_silence_gives_an_empty_transcript():
    t = transcribe_blocks([np.zeros(16000, np.float32)], sample_rate=16000, engine="pocketsphinx")
    assert (t.text, t.words, t.engine) == ("", (), "pocketsphinx")


def test_segment_words_drops_fillers_and_converts_frames():
    segs = [SimpleNamespace(word=w, start_frame=s, end_frame=e, prob=p) for w, s, e, p in [
        ("<s>", 0, 10, 1.0), ("hello", 11, 40, 0.8), ("<sil>", 41, 50, 1.0), ("[NOISE]", 51, 60, 1.0),
        ("the(2)", 61, 70, 0.5), ("</s>", 71, 80, 1.0)]]
    assert sphinx_engine.segment_words(segs, offset_s=2.0, frame_rate=100) == (
        Word("hello", 2.11, 2.41, 0.8), Word("the", 2.61, 2.71, 0.5))


def test_pcm16_chunks_downmixes_and_converts():
    from voicerehearse.transcribe.engine import pcm16_chunks

    stereo = np.stack([np.full(6000, 0.5, np.float32), np.full(6000, -0.25, np.float32)], axis=1)
    chunks = list(pcm16_chunks([stereo[:1000], stereo[1000:]], sample_rate=16000, target_rate=16000, chunk_frames=4000))
    assert [len(c) for c in chunks] == [8000, 4000]
    assert set(np.frombuffer(b"".join(chunks), "<i2")) == {4096}  # mean 0.125 * 32768
    ints = list(pcm16_chunks([np.array([-32768, 0, 32767], np.int16)], sample_rate=8000, target_rate=8000))
    assert np.frombuffer(ints[0], "<i2").tolist() == [-32768, 0, 32767]


@pytest.mark.parametrize("block", [np.zeros((2, 2, 2), np.float32), np.zeros(10, np.int32), np.array([np.inf], np.float32)])
def test_bad_blocks_are_audio_format_errors(block):
    from voicerehearse.errors import AudioFormatError
    from voicerehearse.transcribe.engine import pcm16_chunks

    with pytest.raises(AudioFormatError):
        list(pcm16_chunks([block], sample_rate=16000, target_rate=16000))


def test_decoder_is_reusable_after_a_stream_fails_mid_utterance(english, fallback):
    from voicerehearse.errors import AudioFormatError

    y, sr = sf.read(english[0], dtype="float32")
    with pytest.raises(AudioFormatError):
        transcribe_blocks([y[: sr], np.array([np.nan], np.float32)], sample_rate=sr, engine="pocketsphinx")
    assert transcribe_file(english[0], engine="pocketsphinx").words == fallback.words  # same file, same words


def test_live_blocks_with_partials_give_the_same_words_as_the_file(english, fallback):
    """The live path (small blocks, partial results for the display) stores what the file path gives."""
    y, sr = sf.read(english[0], dtype="float32")
    partials = []
    live = transcribe_blocks((y[i : i + 1024] for i in range(0, len(y), 1024)), sample_rate=sr,
                             engine="pocketsphinx", on_partial=partials.append)
    assert [w.word for w in live.words] == [w.word for w in fallback.words]
    assert [w.start for w in live.words] == [w.start for w in fallback.words]
    assert any(p.words for p in partials)


def test_files_are_decoded_as_whole_utterances_like_the_library(english, fallback):
    """Up to SPAN_S of audio is one utterance, decoded whole (batch cepstral mean): the library's own result."""
    from pocketsphinx import Decoder

    from voicerehearse.transcribe.engine import pcm16_chunks

    y, sr = sf.read(english[0], dtype="float32")
    pcm = b"".join(pcm16_chunks([y], sample_rate=sr, target_rate=16000))
    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    library = sphinx_engine.segment_words(decoder.seg(), offset_s=0, frame_rate=100)
    assert fallback.words == library


def test_long_streams_are_cut_at_a_pause_and_keep_their_times(english, fallback, monkeypatch):
    y, sr = sf.read(english[0], dtype="float32")
    duration = english[1]
    monkeypatch.setattr(sphinx_engine, "SPAN_S", duration - 0.5)  # cut in the gap between the two copies
    t = transcribe_blocks([np.concatenate([y, np.zeros(sr, np.float32), y])], sample_rate=sr,
                          engine="pocketsphinx")
    first = [w for w in t.words if w.start < duration + 0.5]
    second = [w for w in t.words if w.start >= duration + 0.5]
    assert len(EXPECTED & {w.word for w in first}) >= 3, t.text
    assert len(EXPECTED & {w.word for w in second}) >= 3, t.text
    assert second[-1].end <= 2 * duration + 1.05
    assert second[0].start >= duration + 0.9  # times count from the start of the stream, not of the span
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
