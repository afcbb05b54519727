import numpy as np
import pytest

from voicerehearse.analysis.frames import frame_power, framed_from_settings, speech_activity
from voicerehearse.analysis.pace import pace_metrics, syllable_nuclei
from voicerehearse.analysis.tone import measure_voice
from voicerehearse.settings import load_settings
from voicerehearse.types import Transcript, Word
from synth import SR, noise, silence, voice

S = load_settings()
HOP = S.hop_s


def _activity(y):
    f = framed_from_settings(y, SR, S)
    return f, speech_activity(f, S)


def test_frame_power_matches_direct_rms():
    y = voice(1.0, level_db=-12.0)
    f = frame_power(y, sr=SR, frame_length=512, hop_length=160)
    assert f.n_frames == 100
    i = 50
    start = i * 160 + 80 - 256
    direct = np.mean(y[start : start + 512].astype(np.float64) ** 2)
    assert f.power[i] == pytest.approx(direct, rel=1e-6)
    assert np.median(f.db[5:-5]) == pytest.approx(-12.0, abs=0.3)


@pytest.mark.parametrize("gaps", [(0.3, 0.5), (0.4, 0.8, 1.2), (0.6,)])
def test_pauses_at_known_samples(gaps):
    parts, t = [], 0.5
    bursts = []
    for g in gaps + (None,):
        parts.append(voice(0.7, seed=len(parts)))
        bursts.append((t, t + 0.7))
        t += 0.7
        if g is not None:
            parts.append(silence(g))
            t += g
    y = np.concatenate([silence(0.5)] + parts + [silence(0.5)])
    _, act = _activity(y)
    assert act.pauses.count == len(gaps)
    assert len(act.segments) == len(bursts)
    for seg, (start, end) in zip(act.segments, bursts):
        # within one hop, plus the half window by which a frame sees its neighbours
        slack = HOP + (S.frame_length_s - HOP) / 2
        assert abs(seg.start - start) <= slack and abs(seg.end - end) <= slack
    assert act.pauses.longest_s == pytest.approx(max(gaps), abs=2 * HOP + 0.025)
    assert act.speaking_time_s == pytest.approx(0.7 * len(bursts), abs=len(bursts) * 0.05)


def test_short_gaps_are_not_pauses():
    y = np.concatenate([voice(0.5), silence(0.15), voice(0.5, seed=3)])
    _, act = _activity(y)
    assert act.pauses.count == 0 and len(act.segments) == 1


def test_all_silent_and_quiet_noise_have_no_speech():
    for y in (silence(2.0), noise(2.0, -80.0)):
        _, act = _activity(y)
        assert not act.has_speech and act.speaking_time_s == 0


@pytest.mark.parametrize("syllables", [4, 7, 10])
def test_syllable_nuclei_count_known_bursts(syllables):
    # sin^2 envelope at rate r over d seconds gives d*r bursts
    y = voice(syllables / 4.0, syllable_hz=4.0, seed=syllables)
    f, act = _activity(np.concatenate([silence(0.3), y, silence(0.3)]))
    track = measure_voice(f, act, S).track
    nuclei = syllable_nuclei(f, activity=act, track=track, settings=S)
    assert len(nuclei) == syllables


def test_unvoiced_bursts_are_not_syllables():
    env = np.sin(np.pi * 4 * np.arange(SR) / SR) ** 2
    y = noise(1.0, -20.0) * env.astype(np.float32)
    f, act = _activity(y)
    assert len(syllable_nuclei(f, activity=act, track=measure_voice(f, act, S).track, settings=S)) <= 1


def test_rates_and_words_per_minute():
    y = np.concatenate([silence(0.5), voice(2.0, syllable_hz=4.0), silence(1.0), voice(2.0, syllable_hz=4.0, seed=4),
                        silence(0.5)])
    f, act = _activity(y)
    nuclei = syllable_nuclei(f, activity=act, track=measure_voice(f, act, S).track, settings=S)
    words = tuple(Word(f"w{i}", 0.5 + i * 0.5, 0.5 + i * 0.5 + 0.4) for i in range(10))  # 10 words over 4.9 s
    pace = pace_metrics(nuclei, activity=act, transcript=Transcript("file", None, "", words))
    assert pace.syllable_count == 16
    assert pace.articulation_rate == pytest.approx(4.0, rel=0.1)  # pauses excluded
    assert pace.syllables_per_second == pytest.approx(16 / 5.0, rel=0.1)  # span includes the 1 s pause
    assert pace.words_per_minute == pytest.approx(10 / 4.9 * 60, rel=1e-6)
    untimed = pace_metrics(nuclei, activity=act,
                           transcript=Transcript("file", None, "", tuple(Word("w", None, None) for _ in range(10))))
    assert untimed.words_per_minute == pytest.approx(10 / 5.0 * 60, rel=0.05)
    assert pace_metrics(nuclei, activity=act, transcript=None).words_per_minute is None


def test_frame_power_and_windows_are_the_same_across_blocks_and_edges(monkeypatch):
    """Running sums taken block by block (here 7 frames a block) give the direct mean square of every frame,
    and windows running off either end are zero-padded."""
    import voicerehearse.analysis.frames as frames

    rng = np.random.default_rng(4)
    y = rng.standard_normal(16000).astype(np.float32)
    monkeypatch.setattr(frames, "_BLOCK_FRAMES", 7)
    f = frame_power(y, sr=SR, frame_length=512, hop_length=160)
    padded = np.concatenate([np.zeros(176), y, np.zeros(1000)]).astype(np.float64)
    direct = np.array([np.mean(padded[i * 160 : i * 160 + 512] ** 2) for i in range(f.n_frames)])
    assert f.n_frames == 100 and np.allclose(f.power, direct, rtol=1e-9, atol=1e-12)
    w = frames.frame_windows(y, hop_length=160, frames=np.array([0, 50, 99]), win_length=512)
    centred = np.concatenate([np.zeros(512), y, np.zeros(1024)])
    for row, i in zip(w, (0, 50, 99)):
        start = i * 160 + 80 - 256 + 512
        assert np.array_equal(row, centred[start : start + 512])
