"""Fundamental frequency with a vectorised YIN (de Cheveigné & Kawahara 2002), in numpy only.

librosa.yin gives the same estimates (the tests compare them) but pays a multi-second numba start-up on a
cold process; this keeps ``analyze`` on a short file well under two seconds. It tracks only the frames asked
for (speech frames), on a signal decimated to 8 kHz, which is plenty for voice F0.

>>> import numpy as np
>>> sr = 16000
>>> y = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)
>>> track = yin(y, sr=sr, hop_s=0.01, frames=np.arange(10, 90), fmin=65, fmax=600, win_s=0.025, aperiodicity_max=0.25)
>>> abs(float(np.nanmedian(track.f0_hz)) - 220.0) < 0.5
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from voicerehearse.analysis.frames import padded_slice, frame_windows

PITCH_SR = 8000  # tracking rate: voice F0 and its first harmonics stay well below 4 kHz
_CHUNK_FRAMES = 512  # frames per FFT batch: bounds memory (about 6 MB), and small batches stay in cache
_CHUNK_SPAN_FRAMES = 6000  # ...and a batch covers at most this many grid frames (60 s at 10 ms)
_RESAMPLE_MARGIN = 256  # samples at PITCH_SR resampled beyond each batch, so the filter edge never reaches it
_SILENT_POWER = 1e-9  # -90 dBFS: below this a frame is silence, whatever its (meaningless) periodicity


@dataclass(frozen=True)
class PitchTrack:
    frames: np.ndarray = field(repr=False)  # (k,) frame indices that were tracked
    f0_hz: np.ndarray = field(repr=False)  # (k,) NaN where unvoiced
    aperiodicity: np.ndarray = field(repr=False)  # (k,) YIN cumulative-mean-normalised difference at the pick

    @property
    def voiced(self) -> np.ndarray:
        return ~np.isnan(self.f0_hz)


def _cmnd(x: np.ndarray, *, win_length: int, tau_max: int) -> np.ndarray:
    """YIN cumulative mean normalised difference for lags 0..tau_max of each row of x (n, win_length + tau_max + 1)."""
    n, total = x.shape
    nfft = 1 << int(np.ceil(np.log2(total)))  # lags are non-negative and < total: no circular wrap
    corr = np.fft.irfft(np.fft.rfft(x, nfft) * np.conj(np.fft.rfft(x[:, :win_length], nfft)), nfft)[:, : tau_max + 1]
    csum = np.concatenate([np.zeros((n, 1), x.dtype), np.cumsum(x * x, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    energy = csum[:, taus + win_length] - csum[:, taus]
    diff = np.maximum(energy[:, :1] + energy - 2.0 * corr, 0.0)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    return cmnd


def _pick(search: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the minimum of the first dip below ``threshold`` (else the global minimum), refined by a parabola."""
    below = search < threshold
    first = np.argmax(below, axis=1)
    after = np.arange(search.shape[1]) >= first[:, None]
    in_first_dip = after & (np.cumsum(after & ~below, axis=1) == 0)
    has_dip = below.any(axis=1)
    pick = np.where(has_dip, np.argmin(np.where(in_first_dip, search, np.inf), axis=1), np.argmin(search, axis=1))
    rows = np.arange(search.shape[0])
    best = search[rows, pick]
    left = search[rows, np.maximum(pick - 1, 0)]
    right = search[rows, np.minimum(pick + 1, search.shape[1] - 1)]
    denom = left - 2 * best + right
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / safe, 0.0)
    return pick + np.clip(shift, -1, 1), best, has_dip


def _chunks(sorted_frames: np.ndarray):
    """Slices of ``sorted_frames``: at most _CHUNK_FRAMES frames spanning at most _CHUNK_SPAN_FRAMES of the grid,
    so each batch resamples and holds only a short stretch of the signal."""
    lo, n = 0, sorted_frames.shape[0]
    while lo < n:
        hi = min(lo + _CHUNK_FRAMES, n)
        hi = max(lo + 1, min(hi, int(np.searchsorted(sorted_frames, sorted_frames[lo] + _CHUNK_SPAN_FRAMES))))
        yield slice(lo, hi)
        lo = hi


def _pitch_windows(y: np.ndarray, sr: int, frames: np.ndarray, hop: int, width: int) -> np.ndarray:
    """Windows of ``width`` samples at PITCH_SR centred on grid ``frames`` (hop ``hop`` at PITCH_SR): only the
    stretch of ``y`` (at ``sr``) they cover, plus a margin for the resampling filter, is resampled."""
    from voicerehearse.audio.io import resample

    if sr == PITCH_SR:
        return frame_windows(y, hop_length=hop, frames=frames, win_length=width).astype(np.float32)
    lo8 = int(frames[0]) * hop + hop // 2 - width // 2 - _RESAMPLE_MARGIN
    hi8 = int(frames[-1]) * hop + hop // 2 - width // 2 + width + _RESAMPLE_MARGIN
    step = PITCH_SR // math.gcd(sr, PITCH_SR)  # lo8 on a sample both rates share
    lo8 = (lo8 // step) * step
    lo, hi = lo8 * sr // PITCH_SR, -(-hi8 * sr // PITCH_SR)
    seg = resample(padded_slice(y, lo, hi), orig_sr=sr, target_sr=PITCH_SR)
    starts = frames * hop + hop // 2 - width // 2 - lo8
    return np.lib.stride_tricks.sliding_window_view(seg, width)[starts].astype(np.float32)


def yin(
    y: np.ndarray,
    *,
    sr: int,
    hop_s: float,
    frames: np.ndarray,
    fmin: float,
    fmax: float,
    win_s: float,
    aperiodicity_max: float,
) -> PitchTrack:
    """F0 of the grid frames ``frames`` of ``y`` (shape (n,)); frames with aperiodicity >= ``aperiodicity_max``
    are unvoiced (NaN). Returns a :class:`PitchTrack` of length ``len(frames)``."""
    frames = np.asarray(frames, dtype=np.int64)
    hop = int(round(hop_s * PITCH_SR))
    win_length = int(round(win_s * PITCH_SR))
    tau_min = max(2, int(np.floor(PITCH_SR / fmax)))
    tau_max = int(np.ceil(PITCH_SR / fmin))
    f0 = np.full(frames.shape[0], np.nan)
    aper = np.ones(frames.shape[0])
    order = np.argsort(frames, kind="stable")
    for idx in _chunks(frames[order]):
        rows = order[idx]
        x = _pitch_windows(np.asarray(y, np.float32), sr, frames[rows], hop, win_length + tau_max + 1)
        x -= x.mean(axis=1, keepdims=True)
        cmnd = _cmnd(x, win_length=win_length, tau_max=tau_max)
        tau, best, has_dip = _pick(cmnd[:, tau_min:], aperiodicity_max)
        audible = (x[:, :win_length] ** 2).mean(axis=1) > _SILENT_POWER  # digital silence has no pitch
        voiced = has_dip & (best < aperiodicity_max) & audible
        f0[rows] = np.where(voiced, PITCH_SR / (tau + tau_min), np.nan)
        aper[rows] = best
    return PitchTrack(frames, f0, aper)


def reach(*, sr: int, hop_s: float, fmin: float, win_s: float) -> int:
    """Samples at ``sr`` either side of a frame's interval that :func:`yin` reads to track it (the YIN window, the
    longest lag, the resampling margin): the context a block of a signal needs to be tracked on its own.

    >>> reach(sr=16000, hop_s=0.01, fmin=65, win_s=0.025)
    1326
    """
    width = int(round(win_s * PITCH_SR)) + int(np.ceil(PITCH_SR / fmin)) + 1
    if sr == PITCH_SR:
        return width
    step = PITCH_SR // math.gcd(sr, PITCH_SR)
    return -(-(width + _RESAMPLE_MARGIN + step + int(round(hop_s * PITCH_SR))) * sr // PITCH_SR) + 2


def semitones(f_hz, ref_hz: float):
    """Interval from ``ref_hz`` in semitones. ``semitones(440.0, 220.0) == 12.0``."""
    return 12.0 * np.log2(np.asarray(f_hz, dtype=float) / ref_hz)


def pitch_stats(track: PitchTrack, *, outlier_st: float) -> tuple[float | None, float | None]:
    """Median F0 (Hz) and its SD in semitones over voiced frames, octave errors (> outlier_st away) dropped."""
    f0 = track.f0_hz[track.voiced]
    if f0.size < 3:
        return None, None
    median = float(np.median(f0))
    kept = f0[np.abs(semitones(f0, median)) <= outlier_st]
    median = float(np.median(kept))
    return median, float(np.std(semitones(kept, median)))
