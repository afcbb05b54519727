"""Throughput of `voicerehearse batch` on a local Dask cluster: files/s, audio speed and CPU use at 1..N workers.

    .venv/bin/python scripts/bench_batch.py /work/shared/data/emotion-dev --limit 200 --workers 1,2
    .venv/bin/python scripts/bench_batch.py /work/shared/data/emotion-dev --join 100 --limit 4 --workers 1,2
    .venv/bin/python scripts/bench_batch.py CALLS/ --engine pocketsphinx --limit 40

Each worker count gets a fresh cluster, a warm-up batch (imports, model load) on files outside the measured
set where there are enough, then the measured batch into an empty results cache. CPU is the workers' own
user + system time (os.times on each worker), so "CPU use" is the share of the workers' cores kept busy.
The sizing lines turn the per-core rate (audio seconds per worker CPU second, the worse of the runs) into
calls per day per core for a few call lengths (assuming cost linear in the recording's length; short clips
carry more per-file overhead than long calls do). "client+scheduler CPU" is this process, which also hosts
the local scheduler.
Prints figures only; the recordings are read where they are and never copied.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import soundfile as sf  # noqa: E402

from voicerehearse.batch import Batch, BatchItem, ResultCache, expand_paths  # noqa: E402
from voicerehearse.settings import load_settings  # noqa: E402

CALL_MINUTES = (5, 10, 30)


def _worker_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def measure(files: list[str], warm: list[str], workers: int, engine) -> dict:
    from distributed import Client, LocalCluster

    settings = load_settings()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as tmp:
        batch = Batch(client, settings=settings, engine=engine, cache=ResultCache(Path(tmp) / "warm"))
        list(batch.run([BatchItem(p) for p in warm]))
        batch.cache = ResultCache(Path(tmp) / "measured")
        before = sum(client.run(_worker_cpu_s).values())
        own = _worker_cpu_s()
        start = time.perf_counter()
        results = list(batch.run([BatchItem(p) for p in files]))
        wall = time.perf_counter() - start
        cpu = sum(client.run(_worker_cpu_s).values()) - before
        own = _worker_cpu_s() - own
    return {"workers": workers, "files": len(files), "failed": sum(not r.ok for r in results), "wall_s": wall,
            "cpu_s": cpu, "client_cpu_s": own}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="audio files, folders or globs")
    parser.add_argument("--limit", type=int, default=200, help="measure this many files (default 200)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2,4 (default 1,2)")
    parser.add_argument("--engine", default="none", choices=("none", "auto", "vosk", "pocketsphinx"))
    parser.add_argument("--join", type=int, default=1, metavar="K",
                        help="join every K files into one longer recording (16 kHz mono, in a temporary folder "
                             "removed afterwards) to measure call-length files; --limit then counts joined files")
    args = parser.parse_args(argv)

    found = expand_paths(args.paths)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as joined:
        if args.join > 1:
            found = _joined(found[: args.join * (args.limit + 4)], args.join, Path(joined))
        return _bench(found, args)


def _joined(paths: list[str], k: int, folder: Path) -> list[str]:
    """Every ``k`` readable files of ``paths`` as one WAV in ``folder``."""
    import numpy as np

    from voicerehearse.audio.io import load_audio
    from voicerehearse.errors import VoiceRehearseError

    settings = load_settings()
    out, parts = [], []
    for path in paths:
        try:
            parts.append(load_audio(path, settings=settings).samples)
        except VoiceRehearseError:
            continue
        if len(parts) == k:
            out.append(str(folder / f"joined-{len(out):04d}.wav"))
            sf.write(out[-1], np.concatenate(parts), settings.analysis_sample_rate_hz, subtype="PCM_16")
            parts = []
    return out


def _bench(found: list[str], args) -> int:
    files = found[: args.limit]
    spare = found[args.limit:]
    counts = [int(n) for n in args.workers.split(",")]
    warm = (spare or files)[: 2 * max(counts)]
    audio_s = sum(sf.info(p).duration for p in files)
    engine = None
    if args.engine != "none":
        from voicerehearse.transcribe.engine import choose_engine

        engine = choose_engine(args.engine, settings=load_settings())
    print(f"{len(files)} files, {audio_s:.0f} s of audio (mean {audio_s / len(files):.2f} s), engine "
          f"{engine.engine if engine else 'none'}, {os.cpu_count()} cores on this machine, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'workers':>7} {'wall s':>8} {'files/s':>8} {'x real time':>11} {'worker CPU s':>12} {'CPU use':>8} "
          f"{'CPU ms/file':>11} {'speed-up':>8} {'client+scheduler CPU s':>22}")
    rows = []
    for n in counts:
        row = measure(files, warm, n, engine)
        rows.append(row)
        speedup = rows[0]["wall_s"] / row["wall_s"]  # against the first worker count
        print(f"{n:>7} {row['wall_s']:>8.2f} {len(files) / row['wall_s']:>8.1f} {audio_s / row['wall_s']:>11.0f} "
              f"{row['cpu_s']:>12.2f} {row['cpu_s'] / (row['wall_s'] * n):>8.0%} "
              f"{1000 * row['cpu_s'] / len(files):>11.1f} {speedup:>8.2f} {row['client_cpu_s']:>22.2f}"
              + (f"  ({row['failed']} files failed)" if row["failed"] else ""))
    # a dedicated core delivers its CPU seconds in as many wall seconds: size on CPU, which other load on
    # this machine does not inflate the way it does wall time
    per_core = min(audio_s / r["cpu_s"] for r in rows)  # audio seconds per worker CPU second (the worse run)
    wall_core = max(audio_s / (r["wall_s"] * r["workers"]) for r in rows)
    print(f"per core: {per_core:.3g}x real time per worker CPU second ({1000 * max(r['cpu_s'] for r in rows) / len(files):.0f} "
          f"ms CPU per file); {wall_core:.3g}x per core of wall time on this (shared) machine")
    for minutes in CALL_MINUTES:
        print(f"sizing: {minutes:>2}-minute calls -> {86400 * per_core / (60 * minutes):,.0f} calls per day per core")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
