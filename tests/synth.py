"""Synthetic signals with known answers, shared by the tests."""

from __future__ import annotations

import numpy as np

SR = 16000


def voice(duration_s: float, *, f0: float = 150.0, level_db: float = -20.0, sr: int = SR, syllable_hz: float = 0.0,
          brightness: float = 1.0, vibrato_st: float = 0.0, seed: int = 0) -> np.ndarray:
    """A harmonic complex (10 harmonics, amplitude k**-(2/brightness)) at ``level_db`` dBFS RMS.

    ``syllable_hz`` > 0 adds sin^2 syllable envelopes (2 * duration * syllable_hz / 2 bursts of energy).
    ``vibrato_st`` modulates F0 sinusoidally at 3 Hz with that depth (semitones, peak).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * sr))) / sr
    inst_f0 = f0 * 2 ** (vibrato_st * np.sin(2 * np.pi * 3.0 * t) / 12)
    phase = 2 * np.pi * np.cumsum(inst_f0) / sr
    y = sum(k ** (-2.0 / brightness) * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 11))
    if syllable_hz:
        y = y * np.sin(np.pi * syllable_hz * t) ** 2
    y = y / np.sqrt(np.mean(y ** 2)) * 10 ** (level_db / 20)
    return y.astype(np.float32)


def silence(duration_s: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), np.float32)


def noise(duration_s: float, level_db: float, sr: int = SR, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(round(duration_s * sr))) * 10 ** (level_db / 20)).astype(np.float32)


def place(total_s: float, *parts: tuple[float, np.ndarray], sr: int = SR) -> np.ndarray:
    """Sum signals into a buffer of ``total_s`` seconds, each starting at its time."""
    out = np.zeros(int(round(total_s * sr)), np.float32)
    for start, sig in parts:
        i = int(round(start * sr))
        out[i : i + sig.size] += sig[: max(0, out.size - i)]
    return out


def lowpass(y: np.ndarray, cutoff_hz: float, sr: int = SR) -> np.ndarray:
    """A one-pole low-pass: what a small loudspeaker and the room do to the prompt."""
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * cutoff_hz / sr)
    return lfilter([1 - a], [1, -a], y).astype(np.float32)
