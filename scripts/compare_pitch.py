#!/usr/bin/env python3
"""Compare VoiceRehearse's pitch measures with librosa.pyin (the slow, careful reference) on a folder of speech.

    python scripts/compare_pitch.py PATH/TO/folder [--every 1]

Prints the agreement of the median F0 per file (cents) and of the pitch variability (SD in semitones).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.analysis.tone import measure_voice
from voicerehearse.audio.io import load_audio
from voicerehearse.settings import load_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--every", type=int, default=1, help="take every Nth file (pyin is slow)")
    args = parser.parse_args()
    import librosa

    settings = load_settings()
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg"))[:: args.every]
    cents, sds = [], []
    for path in files:
        audio = load_audio(path, settings=settings)
        framed = framed_from_settings(audio.samples, audio.sample_rate, settings)
        ours = measure_voice(framed, speech_activity(framed, settings), settings)
        f0, voiced, _ = librosa.pyin(audio.samples, fmin=settings.pitch_min_hz, fmax=settings.pitch_max_hz,
                                     sr=audio.sample_rate, frame_length=1024, hop_length=160)
        ref = f0[voiced]
        if ours.pitch_median_hz is None or ref.size < 3:
            continue
        median = float(np.median(ref))
        cents.append(1200 * np.log2(ours.pitch_median_hz / median))
        sds.append((ours.pitch_sd_st, float(np.std(12 * np.log2(ref / median)))))
    cents, sds = np.abs(np.array(cents)), np.array(sds)
    print(f"{len(cents)} files: median F0 differs from pyin by {np.median(cents):.1f} cents (median), "
          f"{np.percentile(cents, 90):.1f} cents (90th percentile); {np.sum(cents > 100)} files over a semitone")
    print(f"pitch SD: correlation with pyin {np.corrcoef(sds.T)[0, 1]:.2f}; "
          f"mean {sds[:, 0].mean():.2f} st (ours) vs {sds[:, 1].mean():.2f} st (pyin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
