"""Decibels, once: every level in VoiceRehearse is converted here, with one floor for silence.

>>> power_db(0.01), power_db(0.0), amplitude_db(0.5) == power_db(0.25)
(-20.0, -120.0, True)
"""

from __future__ import annotations

import numpy as np

FLOOR_DB = -120.0  # digital silence and anything quieter
_FLOOR_POWER = 10 ** (FLOOR_DB / 10)


def power_db(power):
    """10 log10 of a power (mean square) or a power ratio, floored at :data:`FLOOR_DB`; a float for a scalar,
    an array for an array."""
    out = 10.0 * np.log10(np.maximum(power, _FLOOR_POWER))
    return float(out) if np.ndim(out) == 0 else out


def amplitude_db(amplitude):
    """20 log10 of an amplitude (RMS), floored at :data:`FLOOR_DB`."""
    return power_db(np.square(amplitude, dtype=np.float64))
