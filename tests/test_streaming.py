"""Long recordings are measured block by block: the figures equal the in-memory ones, and memory stays flat."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicerehearse.analysis import frames, tone
from voicerehearse.analysis.frames import blocks, frame_channels, frame_power
from voicerehearse.audio.io import from_array, load_audio, open_audio
from voicerehearse.pipeline import StereoLayout, analyze_audio, analyze_file
from voicerehearse.settings import load_settings
from synth import SR, noise, place, silence, voice

S = load_settings(overrides={"max_duration_s": 4 * 3600.0})


def _talk(seconds: float, *, f0: float, seed: int, every_s: float = 10.0) -> np.ndarray:
    """A 2.5 s voiced phrase (4 Hz syllables) every ``every_s`` seconds over a faint noise floor."""
    y = noise(seconds, -70.0, seed=seed)
    for k, start in enumerate(np.arange(1.0, seconds - 3.0, every_s)):
        phrase = voice(2.5, f0=f0 * (1 + 0.05 * (k % 3)), syllable_hz=4.0, level_db=-22.0, seed=seed + k)
        i = int(start * SR)
        y[i : i + phrase.size] += phrase
    return y


def _figures(a):
    d = dataclasses.asdict(a)
    d.pop("file")
    return d


class _Chunked:
    """A Signal read in chunks of random sizes, as a decoder hands them over."""

    def __init__(self, y, seed=0):
        self.y, self.seed = y, seed

    def chunks(self):
        rng, at = np.random.default_rng(self.seed), 0
        while at < self.y.shape[-1]:
            k = int(rng.integers(1, 5000))
            yield self.y[np.newaxis, at : at + k]
            at += k


def test_blocks_from_any_chunking_are_the_array_zero_padded():
    y = np.random.default_rng(1).standard_normal(10_007).astype(np.float32)
    got = list(blocks(_Chunked(y), block_length=1000, context=37))
    assert [(a, b) for a, b, _ in got] == [(a, min(a + 1000, y.size)) for a in range(0, y.size, 1000)]
    padded = np.concatenate([np.zeros(37), y, np.zeros(2000)]).astype(np.float32)
    for a, _, seg in got:
        assert np.array_equal(seg[0], padded[a : a + 1000 + 74])


def test_frame_power_of_a_chunked_signal_equals_the_array(monkeypatch):
    monkeypatch.setattr(frames, "_BLOCK_FRAMES", 13)
    y = np.random.default_rng(2).standard_normal(16_000 * 3 + 55).astype(np.float32)
    (streamed,) = frame_channels(_Chunked(y, seed=3), sr=SR, frame_length=512, hop_length=160)
    whole = frame_power(y, sr=SR, frame_length=512, hop_length=160)
    assert streamed.n_samples == y.size and streamed.n_frames == -(-y.size // 160)
    assert np.array_equal(streamed.power, whole.power)


def test_even_sample_is_linspace_while_short_and_bounded_and_even_when_long():
    def run(n, size=48, block=17):
        s = tone._EvenSample(size, 1)
        for lo in range(0, n, block):
            s.offer(np.arange(lo, min(lo + block, n)), lambda picked: picked[:, None])
            assert s.n <= 2 * size
        return s.rows()[:, 0]

    for n in (10, 48, 95, 96):  # up to 2 * size: exactly what linspace over the whole stream picks
        assert np.array_equal(run(n), tone._evenly(np.arange(n), 48))
    for n in (97, 1000, 10_000):
        picked = run(n)
        assert picked.size == 48 and np.all(np.diff(picked) > 0)
        gap = n / 48  # spread over the whole stream, no gap more than twice the mean
        assert picked[0] == 0 and picked[-1] >= n - gap and np.abs(np.diff(picked) - gap).max() <= gap


def test_a_six_minute_file_streamed_gives_the_in_memory_figures(tmp_path):
    """Known answer: a 2.5 s phrase every 10 s at 150 Hz (+0 / 5 / 10 %) for six minutes, 44.1 kHz on disk:
    36 segments, 35 pauses of 7.5 s, the median pitch of the three; streamed and in memory the same."""
    y = _talk(360.0, f0=150.0, seed=1)
    path = tmp_path / "long.flac"
    import soxr

    sf.write(path, soxr.resample(y, SR, 44100), 44100)
    streamed = analyze_file(path, settings=S)
    in_memory = analyze_audio(load_audio(path, settings=S), settings=S)
    assert _figures(streamed) == _figures(in_memory)
    assert streamed.duration_s == pytest.approx(360.0, abs=1e-3)
    assert len(streamed.speech.segments) == 36 and streamed.speech.pauses.count == 35
    assert streamed.speech.pauses.mean_s == pytest.approx(7.5, abs=0.1)
    assert streamed.tone.pitch_median_hz == pytest.approx(157.5, rel=0.04)
    assert streamed.pace.syllable_count == pytest.approx(36 * 10, rel=0.05)


def test_small_blocks_give_the_same_figures_as_one_block(monkeypatch):
    """Block boundaries every 0.37 s (through phrases, pauses and the pitch tracker's windows) change nothing
    but the last float digits."""
    audio = from_array(_talk(40.0, f0=180.0, seed=4, every_s=3.0), SR, settings=S)
    whole = analyze_audio(audio, settings=S)
    monkeypatch.setattr(frames, "_BLOCK_FRAMES", 37)
    small = analyze_audio(audio, settings=S)
    assert small.speech == whole.speech and small.pace == whole.pace
    for name in ("loudness_db", "pitch_median_hz", "pitch_sd_st", "alpha_ratio_db", "voiced_fraction"):
        assert getattr(small.tone, name) == pytest.approx(getattr(whole.tone, name), rel=1e-6, abs=1e-6), name


def test_stereo_call_streamed_gives_the_in_memory_figures(tmp_path):
    agent = _talk(150.0, f0=130.0, seed=7)
    customer = np.roll(_talk(150.0, f0=220.0, seed=8), 5 * SR)  # answers 5 s after each agent phrase
    path = tmp_path / "call.wav"
    sf.write(path, np.stack([agent, customer], axis=1), SR, subtype="PCM_16")
    layout = StereoLayout(agent=0, customer=1)
    streamed = analyze_file(path, settings=S, stereo=layout)
    in_memory = analyze_audio(load_audio(path, settings=S, keep_channels=True), settings=S, stereo=layout)
    assert _figures(streamed) == _figures(in_memory)
    agent_side, customer_side = streamed.stereo.sides
    assert len(agent_side.segments) == len(customer_side.segments) == 15
    assert streamed.stereo.patience_s == pytest.approx(2.5, abs=0.1)  # the agent's next phrase, 2.5 s on
    assert streamed.tone.pitch_median_hz == pytest.approx(136.5, rel=0.04)  # the agent's voice, not the customer's


def test_prompt_bleed_streamed_gives_the_in_memory_figures(tmp_path):
    from synth import lowpass

    prompt = np.concatenate([voice(1.2, f0=210, syllable_hz=4, seed=11), silence(0.3),
                             voice(1.5, f0=200, syllable_hz=4, seed=12)])
    heard = np.concatenate([silence(0.03), lowpass(prompt, 2500.0) * 0.1])
    rec = place(8.0, (0.5, heard), (4.2, voice(2.0, f0=140, level_db=-18, syllable_hz=3.5, seed=5)))
    rec += noise(8.0, -70)
    sf.write(tmp_path / "rec.wav", rec, SR, subtype="FLOAT")
    sf.write(tmp_path / "prompt.wav", prompt, SR, subtype="FLOAT")
    streamed = analyze_file(tmp_path / "rec.wav", settings=S, prompt_path=tmp_path / "prompt.wav", prompt_start_s=0.5)
    in_memory = analyze_audio(load_audio(tmp_path / "rec.wav", settings=S), settings=S,
                              prompt=load_audio(tmp_path / "prompt.wav", settings=S), prompt_start_s=0.5)
    assert _figures(streamed) == _figures(in_memory)
    assert streamed.turn.bleed_detected and streamed.turn.bleed_delay_s == pytest.approx(0.030, abs=0.002)
    assert streamed.turn.reply_start_s == pytest.approx(4.2, abs=0.03)


def test_open_audio_checks_like_load_audio(tmp_path):
    from voicerehearse.errors import AudioFormatError

    bad = tmp_path / "nan.wav"
    sf.write(bad, np.array([0.0, np.nan] * 8000, np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioFormatError, match="NaN"):
        open_audio(bad, settings=S)
    ok = tmp_path / "ok.wav"
    sf.write(ok, np.full((SR, 2), 0.25, np.float32) + [0.0, 0.5], SR)
    stream = open_audio(ok, settings=S, keep_channels=True)
    assert stream.channels == 2 and stream.source_frames == SR and not stream.truncated
    joined = np.concatenate(list(stream.chunks()), axis=1)
    assert np.array_equal(joined, load_audio(ok, settings=S, keep_channels=True).samples)
    assert np.allclose(joined, 0.0, atol=1e-6)  # each channel's DC offset removed


_CHILD = r"""
import json, resource, sys
from pathlib import Path

def peak_mb():  # this process image's high-water mark (ru_maxrss on Linux also counts the parent at fork)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from voicerehearse.pipeline import analyze_file
from voicerehearse.settings import load_settings

settings = load_settings(overrides={"max_duration_s": 4 * 3600.0})
analyze_file(sys.argv[2], settings=settings)  # imports and one-time set-up are not the cost of a recording
before = peak_mb()
a = analyze_file(sys.argv[1], settings=settings)
print(json.dumps({"before_mb": before, "after_mb": peak_mb(), "segments": len(a.speech.segments),
                  "duration_s": a.duration_s}))
"""


def test_a_long_file_is_analysed_in_flat_memory(tmp_path):
    """An hour at 16 kHz would take 230 MB as float32 samples; analysing the file raises the process's peak
    memory by well under half of that (the per-frame arrays, a few blocks, the pitch tracker's batches)."""
    minutes, pattern = 60, _talk(20.0, f0=160.0, seed=3)
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", SR, 1, "PCM_16") as f:
        for _ in range(minutes * 3):
            f.write(pattern)
    sf.write(tmp_path / "warm.wav", _talk(5.0, f0=160.0, seed=2), SR)
    held_mb = minutes * 60 * SR * 4 / 2 ** 20
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(tmp_path / "warm.wav")], capture_output=True,
                         text=True, env=env, cwd=Path(__file__).parent, timeout=300)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["duration_s"] == pytest.approx(minutes * 60, abs=0.01)
    assert r["segments"] == minutes * 3 * 2
    assert r["after_mb"] - r["before_mb"] < 0.5 * held_mb, r
