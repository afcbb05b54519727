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


def _out_of_bounds_rate(tmp_path):
    """96 KB of samples whose header claims 1 Hz: 13 hours of 'audio' that must not be decoded."""
    return _write(tmp_path / "one_hz.wav", np.zeros(48000, np.int16), 1, subtype="PCM_16")


@pytest.mark.parametrize(
    "make,overrides,error,words",
    [
        (_out_of_bounds_rate, {}, AudioFormatError, "1 Hz is outside min_sample_rate_hz"),
        (lambda p: _write(p / "fast.wav", voice(0.5, sr=96000), 96000), {"max_sample_rate_hz": 48000},
         AudioFormatError, "max_sample_rate_hz=48000"),
        (lambda p: _write(p / "three.wav", np.zeros((16000, 3), np.float32), 16000), {"max_channel_count": 2},
         AudioFormatError, "3 channels is more than max_channel_count=2"),
        (lambda p: _write(p / "big.wav", np.zeros((16000, 2), np.float32), 16000),
         {"max_decoded_sample_count": 20000}, AudioDurationError, "32000 samples is more than"),
    ],
)
def test_bounds_are_checked_from_the_header(tmp_path, make, overrides, error, words):
    with pytest.raises(error, match=words):
        load_audio(make(tmp_path), settings=load_settings(overrides=overrides))


def test_blockwise_decode_matches_a_whole_file_downmix_and_resample(tmp_path):
    """Many decode blocks, a DC offset and two channels: the same samples as decoding the file at once."""
    import soxr

    rng = np.random.default_rng(3)
    y = (0.1 * rng.standard_normal((44100 * 4, 2)) + [0.05, -0.02]).astype(np.float32)
    path = _write(tmp_path / "long.wav", y, 44100, subtype="FLOAT")
    expected = soxr.resample((y - y.mean(axis=0)).mean(axis=1), 44100, 16000)
    audio = load_audio(path)
    assert audio.samples.shape == expected.shape and not audio.truncated
    assert np.max(np.abs(audio.samples - expected)) < 1e-5
    kept = load_audio(path, keep_channels=True).samples
    assert kept.shape == (2, expected.shape[0])
    assert np.max(np.abs(kept[1] - soxr.resample(y[:, 1] - y[:, 1].mean(), 44100, 16000))) < 1e-5


def test_a_cut_short_flac_keeps_what_decodes_and_says_so(tmp_path):
    path = _write(tmp_path / "whole.flac", voice(3.0, sr=16000, syllable_hz=3), 16000)
    data = path.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) * 2 // 3])
    audio = load_audio(cut)
    assert audio.truncated
    assert 1.0 < audio.duration_s < 2.5
    assert not load_audio(path).truncated


_RSS_PROBE = """
import resource, sys
from voicerehearse.audio.io import load_audio
from voicerehearse.errors import VoiceRehearseError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_audio(sys.argv[1])
    outcome = "ok"
except VoiceRehearseError as exc:
    outcome = type(exc).__name__
print(outcome, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def _peak_rss_mb(path):
    """Peak memory (MB) a fresh process adds while loading ``path``, and what the load gave."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, text=True, check=True)
    outcome, mb = out.stdout.split()
    return outcome, float(mb)


def test_a_header_claiming_1_hz_is_rejected_before_decoding(tmp_path):
    outcome, mb = _peak_rss_mb(_out_of_bounds_rate(tmp_path))
    assert outcome == "AudioFormatError" and mb < 5


def test_eight_channels_at_192_khz_decode_in_bounded_memory(tmp_path):
    """30 s of 8-channel 192 kHz silence and tone: 184 MB if decoded at once as float32; in blocks, a few MB."""
    path = tmp_path / "wide.flac"
    block = np.zeros((192000, 8), np.float32)
    block[:, 0] = 0.1 * np.sin(2 * np.pi * 220 * np.arange(192000) / 192000)
    with sf.SoundFile(str(path), "w", 192000, 8, "PCM_16", format="FLAC") as f:
        for _ in range(30):
            f.write(block)
    outcome, mb = _peak_rss_mb(path)
    assert outcome == "ok" and mb < 40  # the 16 kHz mono result itself is 1.9 MB


def test_a_file_name_that_is_not_utf8_loads_and_errors_print(tmp_path):
    import os

    path = tmp_path / os.fsdecode(b"caf\xe9-take.wav")
    _write(tmp_path / "plain.wav", voice(1.0, sr=16000), 16000).rename(path)
    assert load_audio(path).duration_s == pytest.approx(1.0, abs=0.01)
    bad = tmp_path / os.fsdecode(b"r\xe9sum\xe9.wav")
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioFormatError) as err:
        load_audio(bad)
    str(err.value).encode("utf-8")  # printable: no lone surrogates in the message
