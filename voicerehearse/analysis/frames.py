"""The one framing helper under every metric: frame grid, frame power, speech activity, segments.

Frame ``i`` stands for the time interval ``[i * hop, (i + 1) * hop)``; its analysis window of
``frame_length`` samples is centred on that interval (zero-padded at the edges), so a run of frames
``i..j`` is the span ``[i * hop / sr, (j + 1) * hop / sr]``.

>>> import numpy as np
>>> sr = 16000
>>> y = np.zeros(sr * 2, dtype=np.float32)
>>> y[4000:12000] = 0.1 * np.sin(np.arange(8000) * 2 * np.pi * 200 / sr)
>>> f = frame_power(y, sr=sr, frame_length=512, hop_length=160)
>>> mask, _ = active_mask(f.db, below_peak_db=25.0, floor_dbfs=-55.0)
>>> [(round(s.start, 2), round(s.end, 2)) for s in mask_to_spans(mask, f.hop_s, min_gap_s=0.25, min_len_s=0.06)]
[(0.23, 0.77)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voicerehearse.levels import FLOOR_DB, power_db
from voicerehearse.types import PauseStats, Span, SpeechActivity

_TINY_POWER = 10 ** (FLOOR_DB / 10)  # digital silence
_MIN_DYNAMIC_DB = 10.0  # speech is at least this far above the silence threshold


@dataclass(frozen=True)
class Framed:
    """Per-frame mean-square power of one signal on the shared grid."""

    y: np.ndarray = field(repr=False)  # (n,) float32 samples
    sr: int
    hop_length: int
    frame_length: int
    power: np.ndarray = field(repr=False)  # (n_frames,) mean square per frame

    @property
    def hop_s(self) -> float:
        return self.hop_length / self.sr

    @property
    def n_frames(self) -> int:
        return self.power.shape[0]

    @property
    def db(self) -> np.ndarray:
        """Frame level in dBFS (full-scale sine = -3 dB), floored at -120."""
        return power_db(self.power)

    def frame_of(self, t: float) -> int:
        """Index of the frame standing for time ``t`` (clipped to the grid)."""
        return int(np.clip(np.floor(t / self.hop_s + 1e-9), 0, max(self.n_frames - 1, 0)))

    def windows(self, indices: np.ndarray, win_length: int) -> np.ndarray:
        """Copies of the ``win_length``-sample windows centred on frames ``indices``: (len(indices), win_length)."""
        return frame_windows(self.y, hop_length=self.hop_length, frames=indices, win_length=win_length)


_BLOCK_FRAMES = 4096  # frames per block of the running sums: bounds temporary memory on long files


def padded_slice(y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``y[lo:hi]`` with zeros where the range runs off either end: a view when it stays inside."""
    if lo >= 0 and hi <= y.shape[0]:
        return y[lo:hi]
    out = np.zeros(hi - lo, y.dtype)
    a, b = max(lo, 0), min(hi, y.shape[0])
    if b > a:
        out[a - lo : b - lo] = y[a:b]
    return out


def frame_windows(y: np.ndarray, *, hop_length: int, frames: np.ndarray, win_length: int) -> np.ndarray:
    """Copies of the ``win_length``-sample windows of ``y`` centred on grid frames ``frames`` (zero-padded).

    Returns (len(frames), win_length). Use a smaller ``hop_length`` on a decimated ``y`` to keep the same grid.
    Costs O(len(frames) * win_length): only the windows asked for are touched, never the whole signal.
    """
    starts = np.asarray(frames, dtype=np.int64) * hop_length + hop_length // 2 - win_length // 2
    out = np.empty((starts.shape[0], win_length), y.dtype)
    inside = (starts >= 0) & (starts + win_length <= y.shape[0])
    if inside.any():
        out[inside] = np.lib.stride_tricks.sliding_window_view(y, win_length)[starts[inside]]
    for i in np.flatnonzero(~inside):  # at most a few frames at each edge
        out[i] = padded_slice(y, int(starts[i]), int(starts[i]) + win_length)
    return out


def frame_power(y: np.ndarray, *, sr: int, frame_length: int, hop_length: int) -> Framed:
    """Mean-square power of each frame, O(n) through running sums taken block by block (bounded memory).

    ``y``: (n,) samples. Returns :class:`Framed` with ``ceil(n / hop_length)`` frames.
    """
    y = np.asarray(y, dtype=np.float32)
    n_frames = max(1, -(-y.shape[0] // hop_length))
    pad_left = (frame_length - hop_length) // 2
    power = np.empty(n_frames)
    for f0 in range(0, n_frames, _BLOCK_FRAMES):
        f1 = min(f0 + _BLOCK_FRAMES, n_frames)
        lo = f0 * hop_length - pad_left
        seg = padded_slice(y, lo, (f1 - 1) * hop_length - pad_left + frame_length).astype(np.float64)
        csum = np.concatenate([[0.0], np.cumsum(seg * seg)])
        starts = np.arange(f1 - f0) * hop_length
        power[f0:f1] = (csum[starts + frame_length] - csum[starts]) / frame_length
    return Framed(y, sr, hop_length, frame_length, np.maximum(power, 0.0))


def framed_from_settings(y: np.ndarray, sr: int, settings) -> Framed:
    """:func:`frame_power` with the frame geometry from settings."""
    return frame_power(
        y, sr=sr, frame_length=int(round(settings.frame_length_s * sr)), hop_length=int(round(settings.hop_s * sr))
    )


def level_threshold(db: np.ndarray, *, below_peak_db: float, floor_dbfs: float, noise_margin_db: float,
                    peak_db: float | None = None) -> float:
    """The speech/silence level in dBFS: ``below_peak_db`` under the loud end (99th percentile, or ``peak_db``),
    raised to ``noise_margin_db`` over the noise floor (5th percentile) in a noisy room, but never closer than
    10 dB to the loud end, and never under ``floor_dbfs``. (Steady hiss or hum passes this test; the voicing
    check of the pipeline turns it into 'no speech'.)"""
    if db.size == 0:
        return floor_dbfs
    peak = float(np.percentile(db, 99)) if peak_db is None else peak_db
    noise = float(np.percentile(db, 5))
    return max(peak - below_peak_db, min(noise + noise_margin_db, peak - _MIN_DYNAMIC_DB), floor_dbfs)


def active_mask(db: np.ndarray, *, below_peak_db: float, floor_dbfs: float,
                noise_margin_db: float = 6.0) -> tuple[np.ndarray, float]:
    """Frames louder than :func:`level_threshold`. Returns (mask of shape (n_frames,), threshold in dBFS)."""
    threshold = level_threshold(db, below_peak_db=below_peak_db, floor_dbfs=floor_dbfs, noise_margin_db=noise_margin_db)
    return db > threshold, threshold


def runs(mask: np.ndarray) -> np.ndarray:
    """(k, 2) array of [first, last+1] frame indices of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)


def mask_to_spans(mask: np.ndarray, hop_s: float, *, min_gap_s: float, min_len_s: float) -> tuple[Span, ...]:
    """Runs of active frames as spans: gaps shorter than ``min_gap_s`` are closed, then runs shorter
    than ``min_len_s`` dropped."""
    r = runs(mask)
    if len(r) == 0:
        return ()
    merged = [list(r[0])]
    for start, stop in r[1:]:
        if (start - merged[-1][1]) * hop_s < min_gap_s:
            merged[-1][1] = stop
        else:
            merged.append([start, stop])
    return tuple(
        Span(round(float(a * hop_s), 6), round(float(b * hop_s), 6)) for a, b in merged if (b - a) * hop_s >= min_len_s - 1e-9
    )


def spans_to_mask(spans, n_frames: int, hop_s: float) -> np.ndarray:
    """The inverse of :func:`mask_to_spans` on the same grid."""
    mask = np.zeros(n_frames, bool)
    for s in spans:
        mask[int(round(s.start / hop_s)) : int(round(s.end / hop_s))] = True
    return mask


def pause_stats(segments: tuple[Span, ...]) -> PauseStats:
    """Pauses are the gaps between consecutive speech segments (already at least min_pause_s long)."""
    gaps = [b.start - a.end for a, b in zip(segments, segments[1:])]
    if not gaps:
        return PauseStats(0, None, None)
    return PauseStats(len(gaps), round(float(np.mean(gaps)), 4), round(float(max(gaps)), 4))


def speech_activity(framed: Framed, settings, *, mask: np.ndarray | None = None) -> SpeechActivity:
    """Speech segments, speaking time and pauses of one signal.

    ``mask`` overrides the level-based activity (e.g. after prompt-bleed rejection).
    """
    threshold = None
    if mask is None:
        mask, threshold = active_mask(framed.db, below_peak_db=settings.silence_below_peak_db,
                                      floor_dbfs=settings.speech_floor_dbfs, noise_margin_db=settings.noise_margin_db)
    spans = mask_to_spans(mask, framed.hop_s, min_gap_s=settings.min_pause_s, min_len_s=settings.min_speech_segment_s)
    if threshold is None:
        threshold = float(framed.db[mask].min()) if mask.any() else settings.speech_floor_dbfs
    speaking = round(sum(s.duration_s for s in spans), 4)
    return SpeechActivity(spans, speaking, pause_stats(spans), round(threshold, 2))
