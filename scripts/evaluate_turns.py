#!/usr/bin/env python3
"""Turn timing on real voices: barge-in accuracy and response-latency error on mixtures of real clips.

For each pair (a customer clip, a reply clip of another speaker) drawn from the folders given (each with a
manifest.csv holding at least ``file`` and ``speaker``), the reply is placed so that its speech starts at
-1.0, -0.5, -0.3, +0.25, +0.6 and +1.5 s from the customer's last speech, on a headset (the mic hears only
the reply) and on speakers (the mic also hears the customer: -18 dB, 30 ms later, low-passed at 2.5 kHz).
Truth: speech bounds of each clean clip at -30 dB under its loudest 10 ms frame. The recording is analysed
by the product path (``pipeline.analyze_audio`` with ``prompt=`` and ``prompt_start_s=``), acoustic only.

    python scripts/evaluate_turns.py /work/shared/data/asr-dev /work/shared/data/emotion-dev [--pairs 40]

Prints barge-in accuracy (interrupted or not; truth: the reply starts at least ``barge_in_min_s`` before the
customer's end), the median |latency error| and both per offset and bleed condition.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

OFFSETS_S = (-1.0, -0.5, -0.3, 0.25, 0.6, 1.5)
BLEED_DB = -18.0
BLEED_DELAY_S = 0.030
BLEED_CUTOFF_HZ = 2500.0
TRUTH_BELOW_PEAK_DB = 30.0
TRUTH_FRAME_S = 0.010
LEAD_IN_S = 0.5  # the customer's line starts playing this long after the recording starts
TAIL_S = 1.0
MAX_CLIP_S = 15.0


def speech_bounds(y: np.ndarray, sr: int) -> tuple[float, float] | None:
    """First and last 10 ms frame within 30 dB of the clip's loudest frame, as (start, end) seconds."""
    hop = int(round(TRUTH_FRAME_S * sr))
    n = y.shape[0] // hop
    if n == 0:
        return None
    power = (y[: n * hop].astype(np.float64).reshape(n, hop) ** 2).mean(axis=1)
    db = 10 * np.log10(np.maximum(power, 1e-12))
    loud = np.flatnonzero(db > db.max() - TRUTH_BELOW_PEAK_DB)
    if loud.size == 0:
        return None
    return loud[0] * hop / sr, (loud[-1] + 1) * hop / sr


def bleed_of(y: np.ndarray, sr: int) -> np.ndarray:
    """The customer as a mic near a small loudspeaker hears it: quieter, later, low-passed."""
    from scipy.signal import butter, sosfilt

    sos = butter(2, BLEED_CUTOFF_HZ, btype="low", fs=sr, output="sos")
    heard = sosfilt(sos, y).astype(np.float32) * np.float32(10 ** (BLEED_DB / 20))
    return np.concatenate([np.zeros(int(round(BLEED_DELAY_S * sr)), np.float32), heard])


def read_clips(folders: list[str]):
    """{folder: [(path, speaker)]} of the clips no longer than MAX_CLIP_S."""
    by_folder = {}
    for folder in folders:
        rows = list(csv.DictReader(open(Path(folder) / "manifest.csv", encoding="utf-8")))
        clips = [(str(Path(folder) / r["file"]), r["speaker"]) for r in rows
                 if float(r.get("duration_s") or 0) <= MAX_CLIP_S]
        if clips:
            by_folder[folder] = clips
    return by_folder


def draw_pairs(by_folder, n_pairs: int, seed: int):
    """Customer and reply from different speakers, folders taken in turn so a big corpus does not dominate."""
    rng = np.random.default_rng(seed)
    folders = sorted(by_folder)
    pairs = []
    for i in range(n_pairs):
        cust = by_folder[folders[i % len(folders)]]
        rep = by_folder[folders[(i + 1) % len(folders)]]
        c = cust[rng.integers(len(cust))]
        others = [r for r in rep if r[1] != c[1]] or [r for f in folders for r in by_folder[f] if r[1] != c[1]]
        pairs.append((c, others[rng.integers(len(others))]))
    return pairs


def mixture(cust: np.ndarray, c_end: float, reply: np.ndarray, r_start: float, offset: float, sr: int,
            bleed: bool) -> tuple[np.ndarray, float]:
    """The mic signal and the reply's placement time (s) for one offset."""
    cust_end_rec = LEAD_IN_S + c_end
    place_at = cust_end_rec + offset - r_start
    if place_at < 0:  # the reply's leading silence would start before the recording: trim it
        reply = reply[int(round(-place_at * sr)) :]
        place_at = 0.0
    total = max(LEAD_IN_S + cust.shape[0] / sr + BLEED_DELAY_S, place_at + reply.shape[0] / sr) + TAIL_S
    rec = np.zeros(int(round(total * sr)), np.float32)
    i = int(round(place_at * sr))
    rec[i : i + reply.shape[0]] += reply
    if bleed:
        b = bleed_of(cust, sr)
        j = int(round(LEAD_IN_S * sr))
        rec[j : j + b.shape[0]] += b
    return rec, place_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="folders with a manifest.csv (file, speaker, ...)")
    parser.add_argument("--pairs", type=int, default=40, help="customer/reply pairs (each gives 12 mixtures)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="one line per mixture")
    args = parser.parse_args()

    from voicerehearse.audio.io import from_array, load_audio
    from voicerehearse.pipeline import analyze_audio
    from voicerehearse.settings import load_settings

    settings = load_settings()
    sr = settings.analysis_sample_rate_hz
    pairs = draw_pairs(read_clips(args.folders), args.pairs, args.seed)
    cache = {}

    def clip(path):
        if path not in cache:
            y = load_audio(path, settings=settings).samples
            cache[path] = (y, speech_bounds(y, sr))
        return cache[path]

    hits = defaultdict(list)  # (offset, bleed) -> [correct]
    errors = defaultdict(list)  # (offset, bleed) -> [|latency error| s]
    missed_reply = 0
    for (c_path, _), (r_path, _) in pairs:
        cust, c_bounds = clip(c_path)
        reply, r_bounds = clip(r_path)
        if c_bounds is None or r_bounds is None:
            continue
        prompt = from_array(cust, sr, settings=settings)
        for bleed in (False, True):
            for offset in OFFSETS_S:
                rec, _ = mixture(cust, c_bounds[1], reply, r_bounds[0], offset, sr, bleed)
                turn = analyze_audio(from_array(rec, sr, settings=settings), settings=settings, prompt=prompt,
                                     prompt_start_s=LEAD_IN_S).turn
                truth = offset <= -settings.barge_in_min_s + 1e-9
                hits[offset, bleed].append(turn.interrupted == truth)
                if turn.response_latency_s is None:
                    missed_reply += 1
                    err = float("inf")
                else:
                    err = abs(turn.response_latency_s - offset)
                errors[offset, bleed].append(err)
                if args.verbose:
                    print(f"{Path(c_path).name:40s} {Path(r_path).name:40s} {offset:+5.2f} "
                          f"{'bleed' if bleed else 'clean':5s} end {turn.prompt_end_s:6.2f} "
                          f"(true {LEAD_IN_S + c_bounds[1]:6.2f}) lat {turn.response_latency_s} "
                          f"int {turn.interrupted} ({'ok' if turn.interrupted == truth else 'WRONG'})")

    all_hits = [h for v in hits.values() for h in v]
    all_err = [e for v in errors.values() for e in v]
    if not all_hits:
        print("no usable pairs")
        return 1
    print(f"{len(pairs)} pairs from {', '.join(args.folders)}; {len(all_hits)} mixtures")
    print(f"{'offset_s':>8s} {'bleed':>6s} {'accuracy':>9s} {'median_abs_latency_err_s':>25s}")
    for key in sorted(hits):
        print(f"{key[0]:+8.2f} {'yes' if key[1] else 'no':>6s} {np.mean(hits[key]):9.3f} "
              f"{statistics.median(errors[key]):25.3f}")
    print(f"replies not found: {missed_reply}")
    print(f"barge-in accuracy: {np.mean(all_hits):.3f}   (target >= 0.95)")
    print(f"median |latency error|: {statistics.median(all_err):.3f} s   (target <= 0.10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
