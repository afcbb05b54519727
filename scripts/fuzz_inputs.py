#!/usr/bin/env python3
"""Throw generated bad inputs at the commands people run on files and count what went wrong.

For each of ``analyze``, ``transcribe``, ``import`` and ``batch`` every input must end in a clear answer: a
result or one error line / error record, exit code 0 or 1, no Python traceback, no hang (``--timeout``), and
``import`` must never lose the caller's file. Inputs (``--count``, default 200) are made fresh in a temp folder:
cut-short WAV/FLAC/OGG/MP3 at many points, random bytes with real headers, headers claiming absurd rates,
channel counts or lengths, NaN/inf samples, silence, clicks, very short files, folders, missing paths, and
odd file names (spaces, newlines, not UTF-8, very long).

    python scripts/fuzz_inputs.py [--count 200] [--timeout 120] [--keep DIR]

Prints, per command: inputs, tracebacks, hangs, lost files, other bad exits — the goal is 0 / 0 / 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def _voice(seconds: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(90, 250)
    y = sum(k ** -1.5 * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 8)) * np.sin(np.pi * 3 * t) ** 2
    return (0.1 * y / (np.abs(y).max() + 1e-9)).astype(np.float32)


def _wav_header(rate: int, channels: int, bits: int, data_bytes: int, fmt: int = 1) -> bytes:
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, fmt, channels,
            rate, rate * block, block, bits) + b"data" + struct.pack("<I", data_bytes))


def make_inputs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    good = {}
    for fmt, ext, sub in (("WAV", "wav", "PCM_16"), ("FLAC", "flac", "PCM_16"), ("OGG", "ogg", "VORBIS"),
                          ("MP3", "mp3", "MPEG_LAYER_III")):
        path = folder / f"whole.{ext}"
        try:
            sf.write(path, _voice(3.0, rng), SR, format=fmt, subtype=sub)
            good[ext] = path.read_bytes()
        except (sf.LibsndfileError, RuntimeError, TypeError):
            pass
        path.unlink(missing_ok=True)
    makers = []

    def cut(ext, frac):
        return lambda p: p.write_bytes(good[ext][: max(1, int(len(good[ext]) * frac))])

    for ext in good:
        for frac in (0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
            makers.append((f"cut-{ext}-{frac}", ext, cut(ext, frac)))
        makers.append((f"garbled-{ext}", ext, lambda p, e=ext: p.write_bytes(
            good[e][:64] + rng.integers(0, 256, len(good[e]) - 64, dtype=np.uint8).tobytes())))
    absurd = [(1, 1, 16), (3999, 1, 16), (384001, 1, 16), (16000, 0, 16), (16000, 300, 16), (16000, 1, 7),
              (2 ** 31 - 1, 1, 16), (16000, 2, 64), (0, 1, 16), (8000, 1, 8)]
    for rate, ch, bits in absurd:
        makers.append((f"header-{rate}hz-{ch}ch-{bits}b", "wav", lambda p, r=rate, c=ch, b=bits: p.write_bytes(
            _wav_header(r, c, b, 2 ** 31) + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())))
    makers += [
        ("empty", "wav", lambda p: p.write_bytes(b"")),
        ("text", "wav", lambda p: p.write_text("this is not audio\n" * 10)),
        ("random", "flac", lambda p: p.write_bytes(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())),
        ("riff-only", "wav", lambda p: p.write_bytes(b"RIFF")),
        ("nan", "wav", lambda p: sf.write(p, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")),
        ("inf", "wav", lambda p: sf.write(p, np.r_[_voice(1.0, rng), np.inf].astype(np.float32), SR, subtype="FLOAT")),
        ("silence", "wav", lambda p: sf.write(p, np.zeros(3 * SR, np.float32), SR)),
        ("tiny", "wav", lambda p: sf.write(p, _voice(0.05, rng), SR)),
        ("clipped", "wav", lambda p: sf.write(p, np.clip(_voice(2.0, rng) * 40, -1, 1), SR)),
        ("clicks", "wav", lambda p: sf.write(p, (rng.random(3 * SR) > 0.999).astype(np.float32) * 0.9, SR)),
        ("dc", "wav", lambda p: sf.write(p, np.full(3 * SR, 0.3, np.float32), SR)),
        ("eight-channels-192k", "flac", lambda p: sf.write(p, np.zeros((192000 * 2, 8), np.float32), 192000)),
        ("8k-telephone", "wav", lambda p: sf.write(p, _voice(2.0, rng)[::2], 8000)),
        ("folder", "wav", lambda p: p.mkdir()),
        ("missing", "wav", None),
    ]
    names = ["plain", "with space", "new\nline", os.fsdecode(b"caf\xe9"), "x" * 200, "-dash", "semi;colon",
             "quote'\"", "ünïcødé", "tab\tname"]
    out = []
    for i in range(count):
        label, ext, make = makers[i % len(makers)]
        name = f"{i:03d}-{names[pick.randrange(len(names))]}-{label}.{ext}"[:240]
        path = folder / name
        if make is not None:
            try:
                make(path)
            except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
                path.write_bytes(b"\0" * 100)
        out.append(path)
    return out


def _run(args, timeout, env):
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    return proc


def _bad(proc) -> str | None:
    if proc is None:
        return "hang"
    err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
    if "Traceback (most recent call last)" in err:
        return "traceback"
    if proc.returncode not in (0, 1):
        return f"exit {proc.returncode}"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, default=None, help="make the inputs here and keep them")
    args = parser.parse_args(argv)
    exe = str(Path(sys.executable).with_name("voicerehearse"))
    root = args.keep or Path(tempfile.mkdtemp(prefix="vr-fuzz-"))
    inputs = make_inputs(root / "inputs", args.count)
    env = {**os.environ, "VOICEREHEARSE_DATA_DIR": str(root / "data"), "HOME": str(root / "home")}
    tally = {cmd: Counter() for cmd in ("analyze", "transcribe", "import", "batch")}
    examples = {}

    def note(cmd, what, path, proc):
        tally[cmd][what] += 1
        if what not in ("ok",):
            tail = "" if proc is None else proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            examples.setdefault((cmd, what), (os.fsencode(path).decode("utf-8", "replace"), tail))

    # analyze and transcribe take many files at once: each must get its own JSON record, and the run goes on
    for cmd, extra in (("analyze", ["--engine", "none"]), ("transcribe", ["--engine", "pocketsphinx"])):
        for chunk in (inputs[i:i + 25] for i in range(0, len(inputs), 25)):
            proc = _run([exe, cmd, *map(str, chunk), "--json", *extra], args.timeout * 3, env)
            bad = _bad(proc)
            lines = []
            try:
                lines = [] if proc is None else [json.loads(x.decode("utf-8")) for x in proc.stdout.splitlines()
                                                 if x.strip()]
            except (UnicodeDecodeError, ValueError):
                bad = bad or "output not UTF-8 JSON"
            if bad is None and len(lines) != len(chunk):
                bad = f"{len(lines)} records for {len(chunk)} files"
            for path in chunk:
                note(cmd, bad or "ok", path, proc)
            print(f"  {cmd}: {sum(tally[cmd].values())}/{len(inputs)}", file=sys.stderr)
    for i, path in enumerate(inputs):
        existed = path.exists()
        proc = _run([exe, "import", str(path), "--trainee", f"T{i % 3}"], args.timeout, env)
        bad = _bad(proc)
        if bad is None and existed and not path.exists():
            bad = "lost file"
        note("import", bad or "ok", path, proc)
        if i % 25 == 24:
            print(f"  import: {i + 1}/{len(inputs)}", file=sys.stderr)
    proc = _run([exe, "batch", *map(str, inputs), "--results", str(root / "batch.jsonl"), "--workers", "2",
                 "--no-progress"], args.timeout * 10, env)
    bad = _bad(proc)
    records = [] if not (root / "batch.jsonl").exists() else (root / "batch.jsonl").read_text().splitlines()
    if bad is None and len(records) != len(inputs):
        bad = f"{len(records)} records for {len(inputs)} files"
    for path in inputs:
        note("batch", bad or "ok", path, proc)

    print(f"{'command':<11} {'inputs':>6} {'tracebacks':>10} {'hangs':>6} {'lost files':>10} {'other':>6}")
    failed = 0
    for cmd, counts in tally.items():
        other = sum(v for k, v in counts.items() if k not in ("ok", "traceback", "hang", "lost file"))
        print(f"{cmd:<11} {sum(counts.values()):>6} {counts['traceback']:>10} {counts['hang']:>6} "
              f"{counts['lost file']:>10} {other:>6}")
        failed += sum(counts.values()) - counts["ok"]
    for (cmd, what), (path, tail) in sorted(examples.items()):
        print(f"  e.g. {cmd} {what}: {path!r} {tail}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
