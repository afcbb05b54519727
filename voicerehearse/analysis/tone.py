"""Tone of voice: active-speech loudness, pitch level and variability, vocal effort (alpha ratio), and voice
quality: tension (H1-A3) and brightness (upper against lower half of the mel spectrum).

All are measured on speech frames only, and compared with the trainee's neutral :class:`Baseline`.

>>> import numpy as np
>>> from voicerehearse.settings import DEFAULTS
>>> from voicerehearse.analysis.frames import framed_from_settings, speech_activity
>>> s = DEFAULTS
>>> sr = 16000
>>> y = (0.1 * np.sin(2 * np.pi * 200 * np.arange(2 * sr) / sr)).astype(np.float32)
>>> f = framed_from_settings(y, sr, s)
>>> m = measure_voice(f, speech_activity(f, s), s)
>>> round(m.loudness_db, 1), round(m.pitch_median_hz)
(-23.1, 200)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voicerehearse.analysis.frames import Framed, frame_windows, spans_to_mask
from voicerehearse.analysis.pitch import PitchTrack, pitch_stats, reach, semitones, yin
from voicerehearse.levels import power_db
from voicerehearse.settings import Settings
from voicerehearse.types import Baseline, SegmentTone, SpeechActivity, ToneMetrics

ALPHA_LOW_HZ = (50.0, 1000.0)  # eGeMAPS alpha ratio bands
ALPHA_HIGH_HZ = (1000.0, 5000.0)
_ALPHA_MAX_FRAMES = 3000  # evenly spaced voiced frames are enough for a stable long-term ratio
_MIN_NOISE_FRAMES = 10  # 0.1 s of non-speech at least, to estimate the noise floor
_QUALITY_BIN_HZ = 15.625  # zero-padded spectra for the voice quality: bins this fine resolve H1 of low voices
_QUALITY_CHUNK = 500  # voiced frames per spectrum batch (bounded memory)
H1_BAND = (0.8, 1.2)  # the first harmonic: the strongest bin within this factor of F0
A3_HZ = (2000.0, 3500.0)  # the strongest peak near the third formant
MEL_BANDS, MEL_HZ = 26, (20.0, 8000.0)  # brightness: upper 13 mel bands against the lower 13
NARROWBAND_HZ = 4000.0  # telephone speech: nothing above 3.4-4 kHz, whatever the file's sample rate
# telephone speech is told from wideband speech by a cliff: sound up to the line's edge (2.5-3.4 kHz within 35 dB
# of the 0.3-3.4 kHz band), none past it (4.2-7.5 kHz over 45 dB under it; wideband speech has 20-35 dB)
_NARROW_BANDS_HZ = {"line": (300.0, 3400.0), "edge": (2500.0, 3400.0), "past": (4200.0, 7500.0)}
_NARROW_EDGE_DB, _NARROW_PAST_DB = -35.0, -45.0


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
    h1_a3_db: float | None = None
    brightness_db: float | None = None
    band_hz: float | None = None  # the recording's upper frequency limit: voice quality is measured below it


def noise_frames(framed: Framed, speech_mask: np.ndarray, *, guard_s: float = 0.05) -> np.ndarray:
    """The quietest fifth of the frames well away from speech: the room's noise floor. Empty when there are
    too few (a file that is all speech), and then nothing is subtracted.

    >>> from voicerehearse.analysis.frames import frame_power
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 1e-3
    >>> f = frame_power(y, sr=16000, frame_length=512, hop_length=160)
    >>> speech = np.zeros(f.n_frames, bool)
    >>> speech[40:60] = True
    >>> noise_frames(f, speech).size
    14
    """
    guard = max(1, int(round(guard_s / framed.hop_s)))
    near = np.convolve(speech_mask.astype(float), np.ones(2 * guard + 1), mode="same") > 0
    quiet = np.flatnonzero(~near & (framed.power > 0))
    if quiet.size < _MIN_NOISE_FRAMES:
        return quiet[:0]
    return quiet[framed.power[quiet] <= np.percentile(framed.power[quiet], 20)]


def _evenly(items: np.ndarray, size: int) -> np.ndarray:
    """At most ``size`` of ``items``, evenly spaced."""
    k = items.shape[0]
    return items[np.linspace(0, k - 1, size).astype(int)] if k > size else items


class _EvenSample:
    """Evenly spaced rows of a stream of unknown length, in bounded memory: every ``stride``-th item is kept, the
    stride doubling (every other kept row dropped, in place) whenever more than ``2 * size`` are kept;
    :meth:`rows` then takes ``size`` of those evenly spaced, which is exactly :func:`_evenly` over the whole
    stream while it is not longer than ``2 * size``. Holds at most ``2 * size + size // 4`` rows."""

    def __init__(self, size: int, width: int):
        self.size, self.stride, self.seen, self.n = size, 1, 0, 0
        self.buf = np.empty((2 * size + size // 4, width), np.float32)  # pages are touched only as rows come

    def offer(self, items: np.ndarray, rows: Callable[[np.ndarray], np.ndarray]) -> None:
        """The next ``items`` of the stream; ``rows(picked)`` gives the rows of the ones kept, (k, width)."""
        piece = max(1, self.size // 4)
        for lo in range(0, items.shape[0], piece):
            part = items[lo : lo + piece]
            first = (-self.seen) % self.stride
            self.seen += part.shape[0]
            picked = part[first :: self.stride]
            self.buf[self.n : self.n + picked.shape[0]] = rows(picked)
            self.n += picked.shape[0]
            while self.n > 2 * self.size:  # kept rows are items 0, s, 2s, ...: keep the multiples of 2s
                half = -(-self.n // 2)
                step = 1
                while step < half:  # buf[i] = buf[2i] in runs whose source and target never overlap
                    self.buf[step : min(2 * step, half)] = self.buf[2 * step : 2 * min(2 * step, half) : 2]
                    step *= 2
                self.n, self.stride = half, self.stride * 2

    def rows(self) -> np.ndarray:
        return _evenly(self.buf[: self.n], self.size)


def _mean_spectrum(windows: np.ndarray) -> np.ndarray:
    x = windows * np.hanning(windows.shape[1]).astype(np.float32)
    return (np.abs(np.fft.rfft(x, axis=1)) ** 2).mean(axis=0)


def _voiced_spectrum(voiced: np.ndarray, noise: np.ndarray) -> np.ndarray | None:
    """Mean power spectrum of the voiced frames' windows ``voiced`` (k, frame_length), with the noise floor's
    spectrum (windows ``noise``) subtracted (spectral subtraction, floored at 5 % of the speech power per bin) so a
    hissy room does not read as a pressed voice. None without voiced frames."""
    if voiced.shape[0] == 0:
        return None
    power = _mean_spectrum(voiced)
    if noise.shape[0]:
        power = np.maximum(power - _mean_spectrum(noise), 0.05 * power)
    return power


def _alpha_ratio(power: np.ndarray | None, width: int, sr: int) -> float | None:
    """Alpha ratio of the voiced spectrum ``power`` (of ``width``-sample windows)."""
    if power is None:
        return None
    freqs = np.fft.rfftfreq(width, 1.0 / sr)
    low = power[(freqs >= ALPHA_LOW_HZ[0]) & (freqs < ALPHA_LOW_HZ[1])].sum()
    high = power[(freqs >= ALPHA_HIGH_HZ[0]) & (freqs < ALPHA_HIGH_HZ[1])].sum()
    if low <= 0 or high <= 0:
        return None
    return power_db(high / low)


def content_band_hz(power: np.ndarray | None, width: int, sr: int, band_hz: float) -> float:
    """``band_hz``, or :data:`NARROWBAND_HZ` when the voiced spectrum ``power`` (of ``width``-sample windows) ends
    at a telephone line's edge: sound up to 3.4 kHz and none above 4.2 kHz (telephone speech inside a wideband
    file). A voice that is merely dark, with little above 2.5 kHz, keeps ``band_hz``.

    >>> t = np.arange(512) / 16000
    >>> voiced = sum(np.sin(2 * np.pi * k * 200 * t) / k for k in range(1, 18))  # harmonics up to 3.4 kHz
    >>> content_band_hz(_mean_spectrum(np.stack([voiced + 0.05 * np.sin(2 * np.pi * 5000 * t)])), 512, 16000, 8000.0)
    8000.0
    >>> content_band_hz(_mean_spectrum(np.stack([voiced])), 512, 16000, 8000.0)  # nothing past the line's edge
    4000.0
    """
    if power is None or band_hz <= NARROWBAND_HZ:
        return band_hz
    freqs = np.fft.rfftfreq(width, 1.0 / sr)

    def energy(name):
        lo, hi = _NARROW_BANDS_HZ[name]
        return float(power[(freqs >= lo) & (freqs < min(hi, band_hz))].sum())

    line = energy("line")
    if line <= 0:
        return band_hz
    at_edge, past = power_db(energy("edge") / line), power_db(energy("past") / line)
    return NARROWBAND_HZ if at_edge > _NARROW_EDGE_DB and past < _NARROW_PAST_DB else band_hz


def mel_filters(*, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters on the mel scale, (n_mels, n_fft // 2 + 1), each peaking at 1 (librosa's names).

    >>> m = mel_filters(sr=16000, n_fft=1024, n_mels=26, fmin=20.0, fmax=8000.0)
    >>> m.shape, bool(m.max(axis=1).min() > 0.5)
    ((26, 513), True)
    """
    def mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up, down = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def quality_fft_length(*, sr: int, width: int) -> int:
    """The zero-padded FFT length of the voice quality: a power of two with bins of at most 15.6 Hz, and never
    shorter than the window.

    >>> quality_fft_length(sr=16000, width=512), quality_fft_length(sr=48000, width=1536), quality_fft_length(sr=16000, width=1600)
    (1024, 4096, 2048)
    """
    return 1 << int(np.ceil(np.log2(max(width, sr / _QUALITY_BIN_HZ))))


def _voice_quality(voiced: np.ndarray, noise: np.ndarray, sr: int, band_hz: float) -> tuple[float | None, float | None]:
    """Voice quality over the voiced frames ``voiced`` (k, frame_length + 1: each window, then its F0 in Hz), with
    the noise floor's mean spectrum subtracted per frame (floored at 5 % of the frame's power), below ``band_hz``:

    - ``h1_a3_db``: the first harmonic's level minus the strongest peak at 2-3.5 kHz (dB), averaged over frames.
      Low = a tight, pressed voice (strong upper harmonics); high = a breathy, weak one.
    - ``brightness_db``: mean level of the upper 13 of 26 mel bands (20 Hz up to 8 kHz or ``band_hz``) minus the
      lower 13 (dB). High = a harsh, sharp timbre; low = a dull, muffled one.
    """
    if voiced.shape[0] == 0:
        return None, None
    width = voiced.shape[1] - 1
    n_fft = quality_fft_length(sr=sr, width=width)
    window = np.hanning(width).astype(np.float32)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    floor = None
    if noise.shape[0]:
        floor = (np.abs(np.fft.rfft(noise * window, n=n_fft, axis=1)) ** 2).mean(axis=0)
    bands = mel_filters(sr=sr, n_fft=n_fft, n_mels=MEL_BANDS, fmin=MEL_HZ[0], fmax=min(MEL_HZ[1], band_hz, sr / 2))
    a3 = (freqs >= A3_HZ[0]) & (freqs <= min(A3_HZ[1], band_hz))
    h1_a3, bright = [], []
    for lo in range(0, voiced.shape[0], _QUALITY_CHUNK):
        rows = voiced[lo : lo + _QUALITY_CHUNK]
        power = np.abs(np.fft.rfft(rows[:, :width] * window, n=n_fft, axis=1)) ** 2
        if floor is not None:
            power = np.maximum(power - floor, 0.05 * power)
        db = power_db(power)
        f0 = rows[:, width:]
        if a3.any():
            h1 = np.where((freqs >= H1_BAND[0] * f0) & (freqs <= H1_BAND[1] * f0), db, -np.inf).max(axis=1)
            h1_a3.append(h1 - db[:, a3].max(axis=1))
        mel_db = power_db(power @ bands.T)
        half = MEL_BANDS // 2
        bright.append(mel_db[:, half:].mean(axis=1) - mel_db[:, :half].mean(axis=1))
    h1_a3 = np.concatenate(h1_a3) if h1_a3 else np.empty(0)
    ok = np.isfinite(h1_a3)
    return (float(h1_a3[ok].mean()) if ok.any() else None), float(np.concatenate(bright).mean())


def _track(framed: Framed, speech: np.ndarray, noise: np.ndarray, settings: Settings, *,
           spectra: bool = True) -> tuple[PitchTrack, np.ndarray, np.ndarray]:
    """One pass over the signal, block by block: the pitch of the frames ``speech``, the windows of up to
    _ALPHA_MAX_FRAMES evenly spaced voiced ones among them, each followed by its F0 (unless not ``spectra``), and
    the windows of the frames ``noise``."""
    hop, width = framed.hop_length, framed.frame_length
    reach_samples = reach(sr=framed.sr, hop_s=framed.hop_s, fmin=settings.pitch_min_hz, win_s=settings.pitch_window_s)
    context = -(-max(reach_samples, width) // hop) + 1
    f0, aper = np.full(speech.shape[0], np.nan), np.ones(speech.shape[0])
    voiced, noise_windows = _EvenSample(_ALPHA_MAX_FRAMES, width + 1), []
    last = max(speech[-1] if speech.size else -1, noise[-1] if noise.size else -1)
    for first, seg in framed.blocks(context_frames=context):
        if first > last:
            break  # nothing left to measure: the rest of the signal need not be read
        stop = first + seg.shape[0] // hop - 2 * context
        a, b = np.searchsorted(speech, [first, stop])
        if b > a:
            rel = speech[a:b] - first + context
            t = yin(seg, sr=framed.sr, hop_s=framed.hop_s, frames=rel, fmin=settings.pitch_min_hz,
                    fmax=settings.pitch_max_hz, win_s=settings.pitch_window_s,
                    aperiodicity_max=settings.pitch_aperiodicity_max)
            f0[a:b], aper[a:b] = t.f0_hz, t.aperiodicity
            if spectra:  # each voiced window with its F0 in the last column
                at = np.flatnonzero(t.voiced)
                voiced.offer(at, lambda picked: np.column_stack([
                    frame_windows(seg, hop_length=hop, frames=rel[picked], win_length=width), t.f0_hz[picked]]))
        a, b = np.searchsorted(noise, [first, stop])
        if b > a:
            noise_windows.append(frame_windows(seg, hop_length=hop, frames=noise[a:b] - first + context,
                                               win_length=width))
    noise_rows = np.concatenate(noise_windows) if noise_windows else np.empty((0, width), np.float32)
    return PitchTrack(speech, f0, aper), voiced.rows(), noise_rows


def pitch_track(framed: Framed, speech: np.ndarray, settings: Settings) -> PitchTrack:
    """The pitch of the grid frames ``speech`` (sorted indices), tracked block by block exactly as
    :func:`measure_voice` tracks it (same blocks, context and tracker), without the spectra the tone also takes.

    >>> from voicerehearse.analysis.frames import framed_from_settings
    >>> from voicerehearse.settings import DEFAULTS
    >>> y = (0.1 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)).astype(np.float32)
    >>> framed = framed_from_settings(y, 16000, DEFAULTS)
    >>> round(float(np.nanmedian(pitch_track(framed, np.arange(20, 80), DEFAULTS).f0_hz)))
    200
    """
    return _track(framed, speech, np.empty(0, np.int64), settings, spectra=False)[0]


def measure_voice(framed: Framed, activity: SpeechActivity, settings: Settings, *,
                  band_hz: float | None = None) -> VoiceMeasures:
    """Loudness (dBFS over speech frames), pitch median/SD, alpha ratio and voice quality over voiced speech frames.

    ``band_hz``: the recording's upper frequency limit (half the file's own sample rate: 4 kHz for a telephone
    recording resampled to 16 kHz); lowered to 4 kHz when the voice holds no sound above it (telephone speech
    in a wideband file, :func:`content_band_hz`). The voice quality is measured below it. Default: half the
    analysis rate.

    Reads the signal once more, block by block (the pitch of the speech frames and the spectra of a sample of
    voiced and of noise frames); the rest is computed on the per-frame arrays.
    """
    speech_mask = spans_to_mask(activity.segments, framed.n_frames, framed.hop_s)
    speech = np.flatnonzero(speech_mask)
    if speech.size == 0:
        return VoiceMeasures(None, None, None, None, None, PitchTrack(speech, np.full(0, np.nan), np.ones(0)))
    noise = noise_frames(framed, speech_mask)
    track, voiced_windows, noise_windows = _track(framed, speech, _evenly(noise, _ALPHA_MAX_FRAMES), settings)
    speech_power = framed.power[speech].mean()
    if noise.size:  # level of the voice itself, not voice + room
        speech_power = max(speech_power - framed.power[noise].mean(), 0.1 * speech_power)
    loudness = power_db(speech_power)
    median, sd = pitch_stats(track, outlier_st=settings.pitch_outlier_st)
    spectrum = _voiced_spectrum(voiced_windows[:, :-1], noise_windows)
    band = content_band_hz(spectrum, framed.frame_length, framed.sr,
                           float(min(band_hz or framed.sr / 2, framed.sr / 2)))
    h1_a3, brightness = _voice_quality(voiced_windows, noise_windows, framed.sr, band)
    return VoiceMeasures(
        segments=_segment_tone(framed, activity, track),
        loudness_db=loudness,
        pitch_median_hz=median,
        pitch_sd_st=sd,
        alpha_ratio_db=_alpha_ratio(spectrum, framed.frame_length, framed.sr),
        h1_a3_db=h1_a3,
        brightness_db=brightness,
        band_hz=band,
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


def same_band(band_hz: float | None, reference_hz: float | None) -> bool:
    """Whether two recordings' upper frequency limits agree (within 1 %), so their voice quality compares.

    >>> same_band(8000.0, 8000.0), same_band(4000.0, 8000.0), same_band(8000.0, None)
    (True, False, False)
    """
    return band_hz is not None and reference_hz is not None and abs(band_hz - reference_hz) <= 0.01 * reference_hz


def _delta(value, reference):
    return None if value is None or reference is None else value - reference


def tone_metrics(voice: VoiceMeasures, *, baseline: Baseline | None, settings: Settings) -> ToneMetrics:
    """Compare measures with the baseline; without one, loudness is taken against ``default_loudness_dbfs``
    and pitch level / effort / voice quality deltas stay unknown (None)."""
    ref_h1_a3 = ref_bright = None
    if baseline is None:
        ref_loud, ref_pitch, ref_alpha, source = settings.default_loudness_dbfs, None, None, "absolute defaults"
    else:
        ref_loud, ref_pitch, ref_alpha, source = (
            baseline.loudness_db,
            baseline.pitch_median_hz,
            baseline.alpha_ratio_db,
            baseline.source,
        )
        if same_band(voice.band_hz, baseline.band_hz):  # a telephone take is not compared with a headset read
            ref_h1_a3, ref_bright = baseline.h1_a3_db, baseline.brightness_db
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
        h1_a3_db=voice.h1_a3_db,
        h1_a3_delta_db=_delta(voice.h1_a3_db, ref_h1_a3),
        brightness_db=voice.brightness_db,
        brightness_delta_db=_delta(voice.brightness_db, ref_bright),
        band_hz=voice.band_hz,
    )
