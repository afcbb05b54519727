"""PCM blocks as they come from a device or a file: int16 <-> float32, mono, level. The one place for it.

>>> import numpy as np
>>> as_int16(np.array([0.5, -1.0], np.float32)).tolist(), as_float(np.array([16384], np.int16)).tolist()
([16384, -32767], [0.5])
"""

from __future__ import annotations

import numpy as np

from voicerehearse.levels import amplitude_db


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of one block in dBFS (int16 or float in [-1, 1]); -120 for digital silence.

    >>> round(level_dbfs(np.full(100, 0.1, np.float32)), 1), level_dbfs(np.zeros(10, np.int16))
    (-20.0, -120.0)
    """
    y = as_float(block)
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    return amplitude_db(rms)


def as_float(block: np.ndarray) -> np.ndarray:
    """Mono float32 in [-1, 1] from an int16 or float block shaped (frames,) or (frames, channels)."""
    block = np.asarray(block)
    if block.ndim == 2:
        block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
    if block.dtype == np.int16:
        return block.astype(np.float32) / 32768.0
    return block.astype(np.float32, copy=False)


def as_int16(block: np.ndarray) -> np.ndarray:
    """Mono int16 from an int16 or float block (channels averaged, clipped)."""
    block = np.asarray(block)
    if block.ndim == 2:
        block = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)
    if block.dtype == np.int16:
        return block
    return np.clip(np.round(block.astype(np.float32) * 32767.0), -32768, 32767).astype(np.int16)

