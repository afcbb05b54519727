#!/usr/bin/env python3
"""Speed of the acoustic analysis (everything but transcription), measured against peers in the same run.

1. A 10-minute speech-like recording: VoiceRehearse's whole acoustic analysis vs openSMILE's eGeMAPS
   low-level descriptors (pip install opensmile; skipped with a note when absent), one core each.
2. A 5-second file from a cold process: `voicerehearse analyze --json --engine none` wall time, vs a cold
   process that only loads the file and runs librosa.yin (the usual librosa route).

    python scripts/bench_analysis.py [--minutes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

SR = 16000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced phrases (gliding F0, 4 Hz syllables, harmonics) separated by pauses, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(int(seconds * SR)).astype(np.float32) * 10 ** (-65 / 20)]
    t0 = 0.0
    while t0 < seconds - 3:
        dur = rng.uniform(1.0, 4.0)
        n = int(dur * SR)
        t = np.arange(n) / SR
        f0 = rng.uniform(110, 240) * 2 ** (rng.uniform(-3, 3) * t / dur / 12)
        phase = 2 * np.pi * np.cumsum(f0) / SR
        y = sum(k ** -1.5 * np.sin(k * phase) for k in range(1, 9)) * np.sin(np.pi * rng.uniform(3, 5) * t) ** 2
        i = int(t0 * SR)
        out[0][i : i + n] += (0.1 * y).astype(np.float32)
        t0 += dur + rng.uniform(0.2, 1.2)
    return out[0]


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cold(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children included

    from voicerehearse.pipeline import analyze_file

    tmp = Path(tempfile.mkdtemp())
    long_path, short_path = tmp / "long.wav", tmp / "short.wav"
    seconds = args.minutes * 60
    sf.write(long_path, speech_like(seconds), SR)
    sf.write(short_path, speech_like(5.0, seed=1), SR)

    print(f"acoustic analysis of {seconds / 60:g} min of speech-like audio, one core, best of {args.repeat}:")
    ours = best_of(args.repeat, lambda: analyze_file(long_path))
    print(f"  voicerehearse analyze (engine none)  {ours:7.2f} s   {seconds / ours:7.0f}x real time")
    try:
        import opensmile
    except ImportError:
        print("  openSMILE eGeMAPS LLD                 not installed (pip install opensmile) — no peer figure")
    else:
        smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
        peer = best_of(args.repeat, lambda: smile.process_file(str(long_path)))
        print(f"  openSMILE eGeMAPS LLD                 {peer:7.2f} s   {seconds / peer:7.0f}x real time")
        print(f"  ratio: voicerehearse is {peer / ours:.1f}x faster than openSMILE eGeMAPS")

    exe = Path(sys.executable).with_name("voicerehearse")
    print(f"\ncold process on a 5 s file, median of {args.repeat + 2}:")
    ours_cold = cold([str(exe), "analyze", str(short_path), "--json", "--engine", "none"], args.repeat + 2)
    print(f"  voicerehearse analyze --json          {ours_cold:7.2f} s wall")
    peer_code = ("import librosa; y, sr = librosa.load(r'%s', sr=16000); "
                 "librosa.yin(y, fmin=65, fmax=600, sr=sr, frame_length=1024, hop_length=160)" % short_path)
    try:
        peer_cold = cold([sys.executable, "-c", peer_code], args.repeat + 2)
    except subprocess.CalledProcessError:
        print("  librosa load + yin                    failed (librosa missing?)")
    else:
        print(f"  python: librosa.load + librosa.yin    {peer_cold:7.2f} s wall   ({peer_cold / ours_cold:.1f}x ours)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
