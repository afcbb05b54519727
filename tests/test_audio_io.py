import numpy as np
import pytest
import soundfile as sf

from voicerehearse.audio.io import load_audio
from voicerehearse.errors import AudioDurationError, AudioFormatError
from voicerehearse.settings import load_settings
from synth import voice


def _write(path, y, sr, **kw):
    sf.write(str(path), y, sr, **kw)
    return path


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg")])
def test_formats_rates_and_channels_become_16k_mono(tmp_path, fmt, ext):
    y = voice(1.0, f0=200, sr=44100)
    path = _write(tmp_path / f"a.{ext}", np.stack([y, y * 0.5], axis=1), 44100, format=fmt)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.source_sample_rate == 44100 and audio.source_channels == 2
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert abs(audio.duration_s - 1.0) < 0.01
    # downmix is the channel mean: level drops by 20*log10(0.75)
    expected_rms = np.sqrt(np.mean(y ** 2)) * 0.75
    assert np.sqrt(np.mean(audio.samples ** 2)) == pytest.approx(expected_rms, rel=0.05 if fmt == "OGG" else 0.01)


def test_keep_channels(tmp_path):
    y = voice(1.0, sr=8000)
    path = _write(tmp_path / "s.wav", np.stack([y, np.zeros_like(y)], axis=1), 8000)
    audio = load_audio(path, keep_channels=True)
    assert audio.samples.shape == (2, 16000)
    assert np.abs(audio.channel(1).samples).max() == 0
    assert np.abs(audio.channel(0).samples).max() > 0.01


def test_mp3_when_libsndfile_supports_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile build has no MP3 support")
    path = _write(tmp_path / "a.mp3", voice(1.0, sr=16000), 16000, format="MP3")
    assert abs(load_audio(path).duration_s - 1.0) < 0.1


def _nan_file(tmp_path):
    y = voice(1.0).astype(np.float32)
    y[100] = np.nan
    return _write(tmp_path / "nan.wav", y, 16000, subtype="FLOAT")


def _inf_file(tmp_path):
    y = voice(1.0).astype(np.float32)
    y[5] = np.inf
    return _write(tmp_path / "inf.wav", y, 16000, subtype="FLOAT")


def _text_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")
    return path


def _empty_wav(tmp_path):
    return _write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)


@pytest.mark.parametrize(
    "make,error,words",
    [
        (lambda p: p / "missing.wav", AudioFormatError, "no such file"),
        (_text_file, AudioFormatError, "not a readable audio file"),
        (_empty_wav, AudioFormatError, "no audio"),
        (lambda p: _write(p / "short.wav", voice(0.1), 16000), AudioDurationError, "shorter than"),
        (_nan_file, AudioFormatError, "NaN"),
        (_inf_file, AudioFormatError, "NaN or infinite"),
        (lambda p: p, AudioFormatError, "no such file"),  # a directory
    ],
)
def test_bad_inputs_raise_clear_typed_errors(tmp_path, make, error, words):
    with pytest.raises(error, match=words):
        load_audio(make(tmp_path))


def test_too_long_is_rejected_before_decoding(tmp_path):
    path = _write(tmp_path / "long.wav", voice(3.0), 16000)
    with pytest.raises(AudioDurationError, match="longer than max_duration_s=2"):
        load_audio(path, settings=load_settings(overrides={"max_duration_s": 2.0}))
