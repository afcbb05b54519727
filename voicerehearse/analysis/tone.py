"""Tone of voice: active-speech loudness, pitch level and variability, vocal effort (alpha ratio).

All are measured on speech frames only, and compared with the trainee's neutral :class:`Baseline`.

>>> import numpy as np
>>> from voicerehearse.settings import load_settings
>>> from voicerehearse.analysis.frames import framed_from_settings, speech_activity
>>> s = load_settings()
>>> sr = 16000
>>> y = (0.1 * np.sin(2 * np.pi * 200 * np.arange(2 * sr) / sr)).astype(np.float32)
>>> f = framed_from_settings(y, sr, s)
>>> m = measure_voice(f, speech_activity(f, s), s)
>>> round(m.loudness_db, 1), round(m.pitch_median_hz)
(-23.1, 200)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voicerehearse.analysis.frames import Framed, spans_to_mask
from voicerehearse.analysis.pitch import PitchTrack, pitch_stats, semitones, yin
from voicerehearse.levels import power_db
from voicerehearse.types import Baseline, SegmentTone, SpeechActivity, ToneMetrics

ALPHA_LOW_HZ = (50.0, 1000.0)  # eGeMAPS alpha ratio bands
ALPHA_HIGH_HZ = (1000.0, 5000.0)
_ALPHA_MAX_FRAMES = 3000  # evenly spaced voiced frames are enough for a stable long-term ratio
_MIN_NOISE_FRAMES = 10  # 0.1 s of non-speech at least, to estimate the noise floor


@dataclass(frozen=True)
class VoiceMeasures:
    """Raw tone measures of one signal, before any baseline comparison."""

    loudness_db: float | None
    pitch_median_hz: float | None
    pitch_sd_st: float | None
    alpha_ratio_db: float | None
    voiced_fraction: float | None
    track: PitchTrack = field(repr=False)
    segments: tuple[SegmentTone, ...] = ()


def noise_frames(framed: Framed, speech_mask: np.ndarray, *, guard_s: float = 0.05) -> np.ndarray:
    """The quietest fifth of the frames well away from speech: the room's noise floor. Empty when there are
    too few (a file that is all speech), and then nothing is subtracted."""
    guard = max(1, int(round(guard_s / framed.hop_s)))
    near = np.convolve(speech_mask.astype(float), np.ones(2 * guard + 1), mode="same") > 0
    quiet = np.flatnonzero(~near & (framed.power > 0))
    if quiet.size < _MIN_NOISE_FRAMES:
        return quiet[:0]
    return quiet[framed.power[quiet] <= np.percentile(framed.power[quiet], 20)]


def _mean_spectrum(framed: Framed, frames: np.ndarray) -> np.ndarray:
    if frames.size > _ALPHA_MAX_FRAMES:
        frames = frames[np.linspace(0, frames.size - 1, _ALPHA_MAX_FRAMES).astype(int)]
    x = framed.windows(frames, framed.frame_length) * np.hanning(framed.frame_length).astype(np.float32)
    return (np.abs(np.fft.rfft(x, axis=1)) ** 2).mean(axis=0)


def _alpha_ratio(framed: Framed, frames: np.ndarray, noise: np.ndarray) -> float | None:
    """Alpha ratio of the voiced frames, with the noise floor's spectrum subtracted (spectral subtraction,
    floored at 5 % of the speech power per bin) so a hissy room does not read as a pressed voice."""
    if frames.size == 0:
        return None
    power = _mean_spectrum(framed, frames)
    if noise.size:
        power = np.maximum(power - _mean_spectrum(framed, noise), 0.05 * power)
    freqs = np.fft.rfftfreq(framed.frame_length, 1.0 / framed.sr)
    low = power[(freqs >= ALPHA_LOW_HZ[0]) & (freqs < ALPHA_LOW_HZ[1])].sum()
    high = power[(freqs >= ALPHA_HIGH_HZ[0]) & (freqs < ALPHA_HIGH_HZ[1])].sum()
    if low <= 0 or high <= 0:
        return None
    return power_db(high / low)


def measure_voice(framed: Framed, activity: SpeechActivity, settings) -> VoiceMeasures:
    """Loudness (dBFS over speech frames), pitch median/SD and alpha ratio over voiced speech frames."""
    speech_mask = spans_to_mask(activity.segments, framed.n_frames, framed.hop_s)
    speech = np.flatnonzero(speech_mask)
    track = yin(
        framed.y,
        sr=framed.sr,
        hop_s=framed.hop_s,
        frames=speech,
        fmin=settings.pitch_min_hz,
        fmax=settings.pitch_max_hz,
        win_s=settings.pitch_window_s,
        aperiodicity_max=settings.pitch_aperiodicity_max,
    )
    if speech.size == 0:
        return VoiceMeasures(None, None, None, None, None, track)
    noise = noise_frames(framed, speech_mask)
    speech_power = framed.power[speech].mean()
    if noise.size:  # level of the voice itself, not voice + room
        speech_power = max(speech_power - framed.power[noise].mean(), 0.1 * speech_power)
    loudness = power_db(speech_power)
    median, sd = pitch_stats(track, outlier_st=settings.pitch_outlier_st)
    return VoiceMeasures(
        segments=_segment_tone(framed, activity, track),
        loudness_db=loudness,
        pitch_median_hz=median,
        pitch_sd_st=sd,
        alpha_ratio_db=_alpha_ratio(framed, track.frames[track.voiced], noise),
        voiced_fraction=float(track.voiced.mean()),
        track=track,
    )


def _segment_tone(framed: Framed, activity: SpeechActivity, track: PitchTrack) -> tuple[SegmentTone, ...]:
    """Level and median pitch of each speech segment; O(frames + segments) (the track's frames are sorted)."""
    out = []
    order = np.argsort(track.frames, kind="stable")
    frames, f0 = track.frames[order], track.f0_hz[order]
    for seg in activity.segments:
        lo, hi = framed.frame_of(seg.start), max(framed.frame_of(seg.start) + 1, int(round(seg.end / framed.hop_s)))
        level = power_db(framed.power[lo:hi].mean())
        inside = f0[np.searchsorted(frames, lo) : np.searchsorted(frames, hi)]
        inside = inside[~np.isnan(inside)]
        pitch = float(np.median(inside)) if inside.size >= 3 else None
        out.append(SegmentTone(seg.start, seg.end, round(level, 2), None if pitch is None else round(pitch, 1)))
    return tuple(out)


def _delta(value, reference):
    return None if value is None or reference is None else value - reference


def tone_metrics(voice: VoiceMeasures, baseline: Baseline | None, settings) -> ToneMetrics:
    """Compare measures with the baseline; without one, loudness is taken against ``default_loudness_dbfs``
    and pitch level / effort deltas stay unknown (None)."""
    if baseline is None:
        ref_loud, ref_pitch, ref_alpha, source = settings.default_loudness_dbfs, None, None, "absolute defaults"
    else:
        ref_loud, ref_pitch, ref_alpha, source = (
            baseline.loudness_db,
            baseline.pitch_median_hz,
            baseline.alpha_ratio_db,
            baseline.source,
        )
    pitch_delta = None
    if voice.pitch_median_hz is not None and ref_pitch is not None:
        pitch_delta = float(semitones(voice.pitch_median_hz, ref_pitch))
    return ToneMetrics(
        loudness_db=voice.loudness_db,
        loudness_delta_db=_delta(voice.loudness_db, ref_loud),
        pitch_median_hz=voice.pitch_median_hz,
        pitch_delta_st=pitch_delta,
        pitch_sd_st=voice.pitch_sd_st,
        alpha_ratio_db=voice.alpha_ratio_db,
        alpha_ratio_delta_db=_delta(voice.alpha_ratio_db, ref_alpha),
        voiced_fraction=voice.voiced_fraction,
        baseline=source,
        baseline_loudness_db=ref_loud,
        baseline_pitch_hz=ref_pitch,
        segments=voice.segments,
    )
