"""The one framing helper under every metric: frame grid, frame power, speech activity, segments, and the
block-by-block reading of a signal that lets a 3-hour call be measured in a few blocks of memory.

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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voicerehearse.levels import FLOOR_DB, power_db
from voicerehearse.settings import Settings
from voicerehearse.types import PauseStats, Span, SpeechActivity

_TINY_POWER = 10 ** (FLOOR_DB / 10)  # digital silence
_MIN_DYNAMIC_DB = 10.0  # speech is at least this far above the silence threshold


class Signal(Protocol):
    """Samples that can be read from the start any number of times: an array in memory, or a file decoded anew
    on each pass (:class:`voicerehearse.audio.io.AudioStream`), so a long recording is never held whole."""

    def chunks(self) -> Iterator[np.ndarray]:
        """One pass over the samples: consecutive (channels, k) float32 chunks of any size."""
        ...


@dataclass(frozen=True)
class InMemory:
    """A :class:`Signal` over samples already in memory, (n,) or (channels, n): read as one view, never copied.

    >>> [c.shape for c in InMemory(np.zeros(5, np.float32)).chunks()]
    [(1, 5)]
    """

    y: np.ndarray = field(repr=False)

    def chunks(self) -> Iterator[np.ndarray]:
        y = np.asarray(self.y, dtype=np.float32)
        yield y if y.ndim == 2 else y[np.newaxis]


@dataclass(frozen=True)
class Downmix:
    """A :class:`Signal` that is the mean of the channels of another, one row.

    >>> next(Downmix(InMemory(np.array([[1.0, 2.0], [3.0, 0.0]], np.float32))).chunks()).tolist()
    [[2.0, 1.0]]
    """

    signal: Signal

    def chunks(self) -> Iterator[np.ndarray]:
        for chunk in self.signal.chunks():
            yield chunk.mean(axis=0, keepdims=True) if chunk.shape[0] > 1 else chunk


_BLOCK_FRAMES = 4096  # frames per block (41 s at 10 ms): what a pass holds of a signal, and the running sums' span


def blocks(signal: Signal, *, block_length: int, context: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """The signal in consecutive blocks of ``block_length`` samples, each with ``context`` samples either side.

    Yields ``(start, stop, seg)``: ``seg`` (channels, block_length + 2 * context) holds samples
    ``[start - context, start + block_length + context)``, zeros beyond either end of the signal; ``stop`` is
    ``min(n, start + block_length)``, so the last block's ``stop`` is the signal's length ``n``. Memory: two
    blocks and a chunk, whatever the length (a signal in memory is only viewed).

    >>> y = np.arange(1, 11, dtype=np.float32)
    >>> [(a, b, seg[0].astype(int).tolist()) for a, b, seg in blocks(InMemory(y), block_length=4, context=1)]
    [(0, 4, [0, 1, 2, 3, 4, 5]), (4, 8, [4, 5, 6, 7, 8, 9]), (8, 10, [8, 9, 10, 0, 0, 0])]
    """
    chunks = iter(signal.chunks())
    buf, buf_start, pending, have, ended = None, 0, [], 0, False  # buf[:, 0] is sample buf_start; have: read so far
    start = 0
    while True:
        need = start + block_length + context
        while have < need and not ended:
            chunk = next(chunks, None)
            if chunk is None:
                ended = True
            elif chunk.shape[-1]:
                pending.append(chunk)
                have += chunk.shape[-1]
        if pending:
            buf = pending[0] if buf is None and len(pending) == 1 else np.concatenate(
                ([] if buf is None else [buf]) + pending, axis=1)
            pending = []
        if buf is None or start >= have:
            return
        yield start, min(start + block_length, have), padded_slice(buf, start - context - buf_start,
                                                                    need - buf_start)
        start += block_length
        drop = max(0, start - context - buf_start)
        buf, buf_start = buf[:, drop:], buf_start + drop


@dataclass(frozen=True)
class Framed:
    """Per-frame mean-square power of one channel of a signal on the shared grid; the signal itself stays where
    it is (in memory or in its file) and is read again, block by block, by the measures that need its samples."""

    signal: Signal = field(repr=False)
    channel: int  # the row of the signal's chunks this stands for
    sr: int
    hop_length: int
    frame_length: int
    power: np.ndarray = field(repr=False)  # (n_frames,) mean square per frame
    n_samples: int

    @property
    def hop_s(self) -> float:
        return self.hop_length / self.sr

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sr

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

    def blocks(self, *, context_frames: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(first, seg)`` for each block of _BLOCK_FRAMES frames starting at frame ``first``: ``seg`` holds this
        channel's samples from ``context_frames`` frames before it to as many after it, so grid frame ``f`` of the
        block is frame ``f - first + context_frames`` of ``seg`` (for :func:`frame_windows` and the pitch tracker).
        """
        for start, _, seg in blocks(self.signal, block_length=_BLOCK_FRAMES * self.hop_length,
                                    context=context_frames * self.hop_length):
            yield start // self.hop_length, seg[self.channel]

    def read(self, lo: int, hi: int) -> np.ndarray:
        """This channel's samples ``[lo, hi)``, zeros beyond the signal's ends; reads only as far as ``hi``.

        >>> f = frame_power(np.arange(1, 6, dtype=np.float32), sr=16000, frame_length=4, hop_length=2)
        >>> f.read(3, 7).tolist()
        [4.0, 5.0, 0.0, 0.0]
        """
        out = np.zeros(max(hi - lo, 0), np.float32)
        at = 0
        for chunk in self.signal.chunks():
            a, b = max(lo, at), min(hi, at + chunk.shape[-1])
            if b > a:
                out[a - lo : b - lo] = chunk[self.channel, a - at : b - at]
            at += chunk.shape[-1]
            if at >= hi:
                break
        return out


def padded_slice(y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``y[..., lo:hi]`` with zeros where the range runs off either end: a view when it stays inside."""
    n = y.shape[-1]
    if lo >= 0 and hi <= n:
        return y[..., lo:hi]
    out = np.zeros(y.shape[:-1] + (hi - lo,), y.dtype)
    a, b = max(lo, 0), min(hi, n)
    if b > a:
        out[..., a - lo : b - lo] = y[..., a:b]
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


def frame_channels(signal: Signal, *, sr: int, frame_length: int, hop_length: int,
                   channels: Sequence[int] = (0,)) -> tuple[Framed, ...]:
    """:func:`frame_power` of several channels of ``signal`` in one pass over it, block by block: the cost is
    linear in the length and the memory a few blocks. Returns one :class:`Framed` per entry of ``channels``.

    >>> y = np.zeros((2, 16000), np.float32)
    >>> y[1] = 0.1
    >>> left, right = frame_channels(InMemory(y), sr=16000, frame_length=512, hop_length=160, channels=(0, 1))
    >>> left.n_frames, float(left.power.max()), round(float(right.power[50]), 6), right.n_samples
    (100, 0.0, 0.01, 16000)
    """
    pad_left = (frame_length - hop_length) // 2
    context = -(-max(pad_left, frame_length - hop_length - pad_left) // hop_length) * hop_length
    parts: list[list[np.ndarray]] = [[] for _ in channels]
    n = 0
    for start, stop, seg in blocks(signal, block_length=_BLOCK_FRAMES * hop_length, context=context):
        count = -(-stop // hop_length) - start // hop_length  # frames of this block
        lo = context - pad_left
        starts = np.arange(count) * hop_length
        for out, c in zip(parts, channels):
            x = seg[c, lo : lo + (count - 1) * hop_length + frame_length].astype(np.float64)
            csum = np.concatenate([[0.0], np.cumsum(x * x)])
            out.append((csum[starts + frame_length] - csum[starts]) / frame_length)
        n = stop
    return tuple(
        Framed(signal, c, sr, hop_length, frame_length,
               np.maximum(np.concatenate(out), 0.0) if out else np.zeros(1), n)
        for out, c in zip(parts, channels)
    )


def frame_power(y: np.ndarray, *, sr: int, frame_length: int, hop_length: int) -> Framed:
    """Mean-square power of each frame, O(n) through running sums taken block by block (bounded memory).

    ``y``: (n,) samples. Returns :class:`Framed` with ``ceil(n / hop_length)`` frames.

    >>> f = frame_power(np.full(16000, 0.5, np.float32), sr=16000, frame_length=512, hop_length=160)
    >>> f.n_frames, float(f.power[50])
    (100, 0.25)
    """
    return frame_channels(InMemory(np.asarray(y, dtype=np.float32)), sr=sr, frame_length=frame_length,
                          hop_length=hop_length)[0]


def frame_lengths(sr: int, settings: Settings) -> tuple[int, int]:
    """``(frame_length, hop_length)`` in samples at ``sr``, from settings.

    >>> from voicerehearse.settings import DEFAULTS
    >>> frame_lengths(16000, DEFAULTS)
    (512, 160)
    """
    return int(round(settings.frame_length_s * sr)), int(round(settings.hop_s * sr))


def framed_from_settings(y: np.ndarray, sr: int, settings: Settings) -> Framed:
    """:func:`frame_power` with the frame geometry from settings.

    >>> from voicerehearse.settings import DEFAULTS
    >>> framed_from_settings(np.zeros(16000, np.float32), 16000, DEFAULTS).n_frames
    100
    """
    frame_length, hop_length = frame_lengths(sr, settings)
    return frame_power(y, sr=sr, frame_length=frame_length, hop_length=hop_length)


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


def speech_activity(framed: Framed, settings: Settings, *, mask: np.ndarray | None = None) -> SpeechActivity:
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
