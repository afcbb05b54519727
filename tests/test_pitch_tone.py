import numpy as np
import pytest

from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.analysis.pitch import yin
from voicerehearse.analysis.tone import measure_voice, tone_metrics
from voicerehearse.settings import load_settings
from voicerehearse.types import Baseline
from synth import SR, noise, voice

S = load_settings()


def _measure(y):
    f = framed_from_settings(y, SR, S)
    return measure_voice(f, speech_activity(f, S), S)


@pytest.mark.parametrize("f0", [80.0, 120.0, 200.0, 310.0, 450.0])
def test_pitch_of_known_f0(f0):
    m = _measure(voice(1.0, f0=f0))
    assert m.pitch_median_hz == pytest.approx(f0, rel=0.01)
    assert m.voiced_fraction > 0.9


def test_agrees_with_librosa_yin_on_a_glide():
    librosa = pytest.importorskip("librosa")
    t = np.arange(2 * SR) / SR
    f0 = 120 * 2 ** (t / 2)  # one octave over two seconds
    y = (0.3 * np.sin(2 * np.pi * np.cumsum(f0) / SR)).astype(np.float32)
    frames = np.arange(20, 180)
    ours = yin(y, sr=SR, hop_s=0.01, frames=frames, fmin=65, fmax=600, win_s=0.025, aperiodicity_max=0.25).f0_hz
    ref = librosa.yin(y, fmin=65, fmax=600, sr=SR, frame_length=1024, hop_length=160, center=True)
    ref = ref[frames]
    truth = 120 * 2 ** ((frames * 0.01 + 0.005) / 2)
    cents_ours = 1200 * np.abs(np.log2(ours / truth))
    cents_ref = 1200 * np.abs(np.log2(ref / truth))
    assert np.median(cents_ours) < 20
    assert np.median(1200 * np.abs(np.log2(ours / ref))) < 25
    assert np.median(cents_ours) <= np.median(cents_ref) + 10


def test_noise_is_unvoiced():
    m = _measure(noise(1.0, -20.0))
    assert m.voiced_fraction < 0.2


@pytest.mark.parametrize("depth_st", [0.0, 1.0, 3.0])
def test_pitch_variability_in_semitones(depth_st):
    m = _measure(voice(2.0, f0=180, vibrato_st=depth_st))
    # SD of a sinusoid of peak depth d is d / sqrt(2)
    assert m.pitch_sd_st == pytest.approx(depth_st / np.sqrt(2), abs=0.15)


def test_deltas_against_baseline():
    base_m = _measure(voice(2.0, f0=150, level_db=-26))
    baseline = Baseline(base_m.loudness_db, base_m.pitch_median_hz, base_m.pitch_sd_st, base_m.alpha_ratio_db, None, "b")
    loud = tone_metrics(_measure(voice(2.0, f0=300, level_db=-20, brightness=2.0)), baseline=baseline, settings=S)
    assert loud.loudness_delta_db == pytest.approx(6.0, abs=0.2)
    assert loud.pitch_delta_st == pytest.approx(12.0, abs=0.2)
    assert loud.alpha_ratio_delta_db > 3.0  # brighter spectrum = more effort
    dull = tone_metrics(_measure(voice(2.0, f0=150, level_db=-32, brightness=0.7)), baseline=baseline, settings=S)
    assert dull.loudness_delta_db == pytest.approx(-6.0, abs=0.2)
    assert dull.alpha_ratio_delta_db < -3.0


def test_without_baseline_uses_absolute_defaults():
    t = tone_metrics(_measure(voice(1.0, level_db=-20)), baseline=None, settings=S)
    assert t.baseline == "absolute defaults"
    assert t.loudness_delta_db == pytest.approx(-20 - S.default_loudness_dbfs, abs=0.2)
    assert t.pitch_delta_st is None and t.alpha_ratio_delta_db is None


def test_room_noise_does_not_read_as_vocal_effort_or_loudness():
    from synth import place

    clean = place(4.0, (1.0, voice(2.0, f0=150, level_db=-30, syllable_hz=4, brightness=1.5)))
    c = _measure(clean + noise(4.0, -90.0))
    hiss = _measure(clean + noise(4.0, -52.0))  # white noise 22 dB under the voice: much high-frequency energy
    assert hiss.alpha_ratio_db == pytest.approx(c.alpha_ratio_db, abs=0.4)  # unsubtracted it reads ~0.9 dB higher
    loud_room = _measure(clean + noise(4.0, -42.0))  # 12 dB SNR: noise alone would add ~0.3 dB
    assert loud_room.loudness_db == pytest.approx(c.loudness_db, abs=0.2)


def test_noisy_room_keeps_pauses_and_speaking_time():
    from synth import place

    y = place(5.0, (0.5, voice(1.5, level_db=-25, seed=1)), (2.6, voice(1.5, level_db=-25, seed=2)))
    f = framed_from_settings(y + noise(5.0, -42.0), SR, S)  # noise only 17 dB under the speech
    act = speech_activity(f, S)
    assert act.pauses.count == 1 and len(act.segments) == 2
    assert act.speaking_time_s == pytest.approx(3.0, abs=0.1)


def test_pitch_batches_resample_only_their_stretch_and_agree_across_boundaries(monkeypatch):
    """A glide tracked in many small batches (each resampling its own stretch of the signal) gives the same
    F0 as one batch over the whole signal, frames given in any order."""
    import voicerehearse.analysis.pitch as pitch

    t = np.arange(4 * SR) / SR
    y = (0.2 * np.sin(2 * np.pi * np.cumsum(120 + 40 * t) / SR)).astype(np.float32)
    frames = np.arange(20, 380)
    kw = dict(sr=SR, hop_s=0.01, fmin=65, fmax=600, win_s=0.025, aperiodicity_max=0.25)
    whole = yin(y, frames=frames, **kw)
    monkeypatch.setattr(pitch, "_CHUNK_FRAMES", 16)
    monkeypatch.setattr(pitch, "_CHUNK_SPAN_FRAMES", 50)
    shuffled = np.random.default_rng(0).permutation(frames)
    batched = yin(y, frames=shuffled, **kw)
    order = np.argsort(shuffled)
    assert np.array_equal(batched.frames, shuffled)
    assert np.allclose(batched.f0_hz[order], whole.f0_hz, rtol=1e-4)
    assert np.nanmedian(np.abs(whole.f0_hz - (120 + 40 * (frames * 0.01 + 0.005)))) < 1.0


def _harmonics(amplitude_of, *, f0: float = 125.0, duration_s: float = 2.0, level_db: float = -24.0) -> np.ndarray:
    """A steady harmonic complex up to 7.5 kHz, harmonic k (frequency k * f0) at amplitude ``amplitude_of(k * f0)``."""
    t = np.arange(int(duration_s * SR)) / SR
    rng = np.random.default_rng(3)
    ks = np.arange(1, int(7500 // f0) + 1)
    y = sum(amplitude_of(k * f0) * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) for k in ks)
    return (y / np.sqrt(np.mean(y ** 2)) * 10 ** (level_db / 20)).astype(np.float32)


@pytest.mark.parametrize("a3_below_h1_db", [12.0, 24.0, 36.0])
def test_h1_a3_is_the_first_harmonic_over_the_2_to_3_5_khz_peak(a3_below_h1_db):
    """Harmonics of 125 Hz: H1 at 1, the rest at -40 dB except those at 2-3.5 kHz, set ``a3_below_h1_db`` under
    H1: H1-A3 reads that difference (the peak bins of two pure harmonics, within the window's scalloping)."""
    g = 10 ** (-a3_below_h1_db / 20)
    m = _measure(_harmonics(lambda f: 1.0 if f < 200 else (g if 2000 <= f <= 3500 else 0.01)))
    assert m.h1_a3_db == pytest.approx(a3_below_h1_db, abs=1.0)


def test_brightness_rises_by_a_boost_of_the_upper_mel_bands():
    """Boosting every harmonic from the 15th mel band edge up by 10 dB raises the upper 12 of the upper 13 bands by
    10 dB and part of the 13th, and leaves the lower 13 alone: brightness rises by between 12/13 x 10 and 10 dB."""
    from voicerehearse.analysis.tone import MEL_BANDS, MEL_HZ

    mel = lambda hz: 2595 * np.log10(1 + hz / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(mel(MEL_HZ[0]), mel(MEL_HZ[1]), MEL_BANDS + 2) / 2595) - 1)
    split = edges[MEL_BANDS // 2 + 1]
    tilt = lambda f: (f / 125.0) ** -0.5  # noqa: E731
    plain = _measure(_harmonics(tilt))
    bright = _measure(_harmonics(lambda f: tilt(f) * (10 ** 0.5 if f >= split + 70 else 1.0)))
    assert 12 / 13 * 10 - 0.3 <= bright.brightness_db - plain.brightness_db <= 10.3


def test_voice_quality_deltas_against_baseline_and_none_without_one():
    base_m = _measure(_harmonics(lambda f: (f / 125.0) ** -1.0))
    baseline = Baseline(base_m.loudness_db, base_m.pitch_median_hz, base_m.pitch_sd_st, base_m.alpha_ratio_db, None,
                        "b", base_m.h1_a3_db, base_m.brightness_db, base_m.band_hz)
    tense = _measure(_harmonics(lambda f: (f / 125.0) ** -1.0 * (4.0 if 2000 <= f <= 3500 else 1.0)))
    t = tone_metrics(tense, baseline=baseline, settings=S)
    assert t.h1_a3_delta_db == pytest.approx(-20 * np.log10(4.0), abs=1.0)  # the 2-3.5 kHz peak 12 dB up
    assert t.brightness_delta_db > 1.0
    assert tone_metrics(tense, baseline=None, settings=S).h1_a3_delta_db is None
    old = Baseline(base_m.loudness_db, base_m.pitch_median_hz, base_m.pitch_sd_st, base_m.alpha_ratio_db, None, "old")
    assert tone_metrics(tense, baseline=old, settings=S).brightness_delta_db is None  # stored before it was measured


def test_room_noise_does_not_read_as_a_brighter_voice():
    from synth import place

    clean = place(4.0, (1.0, _harmonics(lambda f: (f / 125.0) ** -1.0, level_db=-30)))
    c = _measure(clean + noise(4.0, -90.0))
    hiss = _measure(clean + noise(4.0, -60.0))  # white noise 30 dB under the voice fills the empty high bins
    assert hiss.brightness_db == pytest.approx(c.brightness_db, abs=1.0)
    assert hiss.h1_a3_db == pytest.approx(c.h1_a3_db, abs=1.0)


def test_a_telephone_recording_is_not_compared_with_a_wideband_read_for_voice_quality():
    """The same voice through an 8 kHz line has nothing above 4 kHz: against a 16 kHz read its brightness would
    read tens of dB duller. Voice quality compares only recordings of one bandwidth; the rest still compares."""
    from voicerehearse.audio.io import from_array
    from voicerehearse.pipeline import analyze_audio, baseline_from_audio

    y = _harmonics(lambda f: (f / 125.0) ** -1.0, duration_s=3.0)
    wide = baseline_from_audio(from_array(y, SR), "headset.wav", S)
    phone_y = y.reshape(-1, 2).mean(axis=1).astype(np.float32)  # 8 kHz (a crude decimation is enough here)
    phone = analyze_audio(from_array(phone_y, 8000), settings=S, baseline=wide)
    assert wide.band_hz == 8000.0 and phone.tone.band_hz == 4000.0
    assert phone.tone.h1_a3_delta_db is None and phone.tone.brightness_delta_db is None
    assert phone.tone.loudness_delta_db is not None and any("reaches 4 kHz" in n for n in phone.delivery.notes)
    same_line = baseline_from_audio(from_array(phone_y, 8000), "phone read.wav", S)
    again = analyze_audio(from_array(phone_y, 8000), settings=S, baseline=same_line)
    assert again.tone.brightness_delta_db == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("overrides", [{"frame_length_s": 0.1}, {"analysis_sample_rate_hz": 48000}])
def test_voice_quality_reads_whole_windows_at_any_frame_length_and_rate(overrides):
    """A longer window or a higher analysis rate must not cut the windows short (the FFT grows with them)."""
    from voicerehearse.analysis.tone import quality_fft_length

    settings = load_settings(overrides=overrides)
    sr = settings.analysis_sample_rate_hz
    t = np.arange(int(2.0 * sr)) / sr
    g = 10 ** (-24 / 20)
    y = sum((1.0 if k == 1 else (g if 2000 <= k * 125 <= 3500 else 0.01)) * np.sin(2 * np.pi * k * 125 * t)
            for k in range(1, 60))
    y = (0.05 * y / np.sqrt(np.mean(y ** 2))).astype(np.float32)
    f = framed_from_settings(y, sr, settings)
    m = measure_voice(f, speech_activity(f, settings), settings)
    assert quality_fft_length(sr=sr, width=f.frame_length) >= f.frame_length
    assert m.h1_a3_db == pytest.approx(24.0, abs=1.0)


def test_telephone_speech_inside_a_wideband_file_is_known_by_its_empty_upper_band():
    """A 16 kHz file whose voice was cut at 3.4 kHz (a phone line, then resampled) counts as a 4 kHz recording;
    the same voice with its upper harmonics kept counts as 8 kHz."""
    from scipy.signal import butter, sosfilt

    y = _harmonics(lambda f: (f / 125.0) ** -1.0)
    line = sosfilt(butter(12, 3400, fs=SR, output="sos"), y).astype(np.float32)
    assert _measure(y).band_hz == 8000.0
    assert _measure(line).band_hz == 4000.0
