#!/usr/bin/env python3
"""Speed and memory of the acoustic analysis (everything but transcription), against peers in the same run.

1. Recordings of 1, 10, 60 and 180 minutes (speech-like synthetic audio, or real clips concatenated with
   ``--clips DIR...``, written to a temporary folder and deleted afterwards): each tool runs once per file in
   its own process pinned to one core, and the table gives CPU seconds, real-time factor per core (audio
   seconds / CPU seconds) and the process's peak RSS (resource.getrusage). Tools: VoiceRehearse's whole
   acoustic analysis (`analyze --engine none` path), openSMILE eGeMAPS low-level descriptors and Praat
   pitch + intensity through parselmouth (the `bench` extras; skipped with a note when absent). With
   ``--stereo`` the files are two-channel calls (agent on 0, the customer answering on 1) and VoiceRehearse
   runs its call path (`analyze --stereo agent=0,customer=1`); the peers read the same files.
2. A 5-second file from a cold process: `voicerehearse analyze --json --engine none` wall time, vs a cold
   process that only loads the file and runs librosa.yin (the usual librosa route).

    python scripts/bench_analysis.py [--minutes 1 10 60 180] [--clips DIR ...] [--stereo] [--repeat 3]

Targets (issue 14): >= 300x real time per core at every length; peak RSS <= 400 MB at 180 minutes. The last
column says whether VoiceRehearse's row meets them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
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
TOOLS = ("voicerehearse", "opensmile", "parselmouth")
TARGET_X_REALTIME = 300.0  # per core, at every length
TARGET_PEAK_RSS_MB = 400.0  # at 180 minutes (and so below)


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
        room = out[0][i : i + n]
        room += (0.1 * y[: room.shape[0]]).astype(np.float32)
        t0 += dur + rng.uniform(0.2, 1.2)
    return out[0]


def write_long(path: Path, seconds: float, clips: list[np.ndarray] | None, stereo: bool = False) -> None:
    """``seconds`` of audio written block by block (16-bit WAV at 16 kHz): real clips in a random order
    with 0.2-1.5 s pauses, or speech-like synthetic audio. ``stereo``: a second channel, the customer, with other
    speech of the same kind, so the two sides alternate and sometimes overlap."""
    rng = np.random.default_rng(0)
    target = int(seconds * SR)

    def block() -> np.ndarray:
        if clips:
            return np.concatenate([clips[rng.integers(len(clips))],
                                   np.zeros(int(rng.uniform(0.2, 1.5) * SR), np.float32)])
        return speech_like(60.0, seed=int(rng.integers(1 << 30)))

    with sf.SoundFile(str(path), "w", SR, 2 if stereo else 1, "PCM_16") as f:
        done = 0
        while done < target:
            agent = block()[: target - done]
            if stereo:
                customer = np.zeros_like(agent)
                other = block()[: agent.shape[0]]
                customer[: other.shape[0]] = 0.8 * other
                agent = np.stack([agent, customer], axis=1)
            f.write(agent)
            done += agent.shape[0]


def read_clips(folders: list[str]) -> list[np.ndarray]:
    from voicerehearse.audio.io import load_audio

    clips = []
    for folder in folders:
        for row in csv.DictReader(open(Path(folder) / "manifest.csv", encoding="utf-8")):
            clips.append(load_audio(Path(folder) / row["file"]).samples)
    return clips


def child(tool: str, path: str, warm: str) -> dict:
    """Run one tool once on ``path`` in this process, after one warm-up run on the short file ``warm`` (imports
    and one-time set-up are not the cost of a recording); CPU seconds of the run and the process's peak RSS."""
    import resource

    if tool == "voicerehearse":
        from voicerehearse.pipeline import StereoLayout, analyze_file
        from voicerehearse.settings import load_settings

        settings = load_settings(overrides={"max_duration_s": 4 * 3600.0})

        def run(p):  # a two-channel file is a call: the agent on 0, the customer on 1
            layout = StereoLayout(agent=0, customer=1) if sf.info(p).channels == 2 else None
            analyze_file(p, settings=settings, stereo=layout)
    elif tool == "opensmile":
        import opensmile

        smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
        run = lambda p: smile.process_file(p)  # noqa: E731
    else:
        import parselmouth

        def run(p):
            sound = parselmouth.Sound(p)
            sound.to_pitch()
            sound.to_intensity()
    run(warm)
    start = time.process_time()
    run(path)
    cpu = time.process_time() - start
    return {"cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(resource)}


def _peak_rss_mb(resource) -> float:
    """Peak resident memory of this process. getrusage's ru_maxrss also counts the parent's memory at fork,
    which carries over exec on Linux, so the high-water mark of this process image (VmHWM) is preferred."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def available(tool: str) -> bool:
    module = {"voicerehearse": "voicerehearse", "opensmile": "opensmile", "parselmouth": "parselmouth"}[tool]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def run_child(tool: str, path: Path, warm: Path) -> dict | None:
    out = subprocess.run([sys.executable, __file__, "--child", tool, str(path), str(warm)], capture_output=True,
                         text=True)
    if out.returncode != 0:
        print(f"    {tool} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def long_files(args, tmp: Path) -> None:
    tools = [t for t in TOOLS if available(t)]
    missing = [t for t in TOOLS if t not in tools]
    clips = read_clips(args.clips) if args.clips else None
    source = f"real clips from {', '.join(args.clips)}" if clips else "speech-like synthetic audio"
    kind = "two-channel calls (agent=0, customer=1)" if args.stereo else "mono"
    print(f"one run per tool and length (after a 5 s warm-up), each in its own process on one core; {source}, "
          f"{kind}")
    if missing:
        print(f"not installed (pip install -e '.[bench]'): {', '.join(missing)} — no peer figure")
    warm = tmp / "warm.wav"
    warm_y = speech_like(5.0, seed=2)
    sf.write(warm, np.stack([warm_y, warm_y[::-1]], axis=1) if args.stereo else warm_y, SR)
    print(f"{'minutes':>7s} {'tool':>14s} {'cpu_s':>8s} {'x_realtime_per_core':>20s} {'peak_rss_mb':>12s}  targets")
    for minutes in args.minutes:
        path = tmp / f"long_{minutes:g}min.wav"
        write_long(path, minutes * 60, clips, stereo=args.stereo)
        for tool in tools:
            if tool != "voicerehearse" and args.peers_up_to is not None and minutes > args.peers_up_to:
                continue
            r = run_child(tool, path, warm)
            if r is not None:
                x_realtime = minutes * 60 / max(r["cpu_s"], 1e-9)
                met = x_realtime >= TARGET_X_REALTIME and (minutes > 180 or r["peak_rss_mb"] <= TARGET_PEAK_RSS_MB)
                verdict = ("met" if met else "MISSED") if tool == "voicerehearse" else ""
                print(f"{minutes:7g} {tool:>14s} {r['cpu_s']:8.2f} {x_realtime:20.0f} {r['peak_rss_mb']:12.0f}  "
                      f"{verdict}", flush=True)
        path.unlink()


def cold_start(args, tmp: Path) -> None:
    short_path = tmp / "short.wav"
    sf.write(short_path, speech_like(5.0, seed=1), SR)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60, 180])
    parser.add_argument("--clips", nargs="+", metavar="DIR", help="folders with a manifest.csv of real clips")
    parser.add_argument("--stereo", action="store_true", help="two-channel calls, analysed as agent=0,customer=1")
    parser.add_argument("--peers-up-to", type=float, default=None, metavar="MIN",
                        help="run the peers only up to this length (openSMILE takes minutes on 3 hours)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the cold-start figure")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start figure")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "PATH", "WARM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children included
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="vr-bench-"))
    try:
        long_files(args, tmp)
        if not args.no_cold:
            cold_start(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
