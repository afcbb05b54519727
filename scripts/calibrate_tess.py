#!/usr/bin/env python3
"""Report the verdict's accuracy on acted emotional speech (a TESS-style folder with manifest.csv).

Each speaker's neutral clips form their baseline (leave-one-out for the neutral clips themselves); angry should
be called aggressive, sad passive, neutral assertive, and happy (upbeat) should NOT be called aggressive.

    python scripts/calibrate_tess.py PATH/TO/tess-dev [--config my.toml] [--features out.csv]
    python scripts/calibrate_tess.py PATH/TO/tess-dev --noise-dbfs -50 --pad-s 0.5   # robustness: a noisy room

Prints per-class recall, unweighted average recall (UAR) and the share of happy clips called aggressive.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.audio.io import from_array
from voicerehearse.pipeline import analyze_audio, baseline_from_audio, merge_baselines
from voicerehearse.settings import load_settings

EXPECTED = {"angry": "aggressive", "sad": "passive", "neutral": "assertive"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--config", type=Path, default=None, help="TOML settings to evaluate")
    parser.add_argument("--features", type=Path, default=None, help="write per-clip measures to this CSV")
    parser.add_argument("--noise-dbfs", type=float, default=None,
                        help="add white noise at this level and 50 Hz hum 5 dB under it (a noisy room)")
    parser.add_argument("--pad-s", type=float, default=0.0, help="silence added before and after each clip")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    rng = np.random.default_rng(0)

    def load(name: str):
        y, sr = sf.read(args.data_dir / name, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        pad = np.zeros(int(args.pad_s * sr), np.float32)
        y = np.concatenate([pad, y, pad])
        if args.noise_dbfs is not None:
            t = np.arange(y.size) / sr
            y = (y + rng.standard_normal(y.size) * 10 ** (args.noise_dbfs / 20)
                 + np.sqrt(2) * 10 ** ((args.noise_dbfs - 5) / 20) * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
        return from_array(y, sr, settings=settings, path=name)

    rows = list(csv.DictReader(open(args.data_dir / "manifest.csv", newline="")))
    neutral = defaultdict(dict)
    for row in rows:
        if row["emotion"] == "neutral":
            neutral[row["speaker"]][row["file"]] = baseline_from_audio(load(row["file"]), row["file"], settings)
    confusion: dict[str, Counter] = defaultdict(Counter)
    per_speaker: dict[tuple[str, str], Counter] = defaultdict(Counter)
    records = []
    for row in rows:
        pool = [b for f, b in neutral[row["speaker"]].items() if f != row["file"]]
        baseline = merge_baselines(pool, f"{row['speaker']} neutral")
        a = analyze_audio(load(row["file"]), settings=settings, baseline=baseline)
        confusion[row["emotion"]][a.delivery.label] += 1
        per_speaker[row["speaker"], row["emotion"]][a.delivery.label] += 1
        t, p = a.tone, a.pace
        records.append({
            "file": row["file"], "speaker": row["speaker"], "emotion": row["emotion"], "label": a.delivery.label,
            "aggressive": a.delivery.scores.aggressive, "passive": a.delivery.scores.passive,
            "loud_d": t.loudness_delta_db, "pitch_d": t.pitch_delta_st, "pitch_sd": t.pitch_sd_st,
            "alpha_d": t.alpha_ratio_delta_db, "voiced": t.voiced_fraction,
            "rate_ratio": (p.articulation_rate / baseline.articulation_rate)
            if p.articulation_rate and baseline.articulation_rate else None,
            "speaking_s": a.speech.speaking_time_s,
        })
    if args.features:
        with open(args.features, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    labels = ["aggressive", "passive", "assertive", "no speech"]
    print(f"{'emotion':<8} " + " ".join(f"{l:>10}" for l in labels) + "   recall")
    recalls = []
    for emotion in ("angry", "sad", "neutral", "happy"):
        counts = confusion[emotion]
        total = sum(counts.values()) or 1
        line = f"{emotion:<8} " + " ".join(f"{counts[l]:>10}" for l in labels)
        if emotion in EXPECTED:
            recall = counts[EXPECTED[emotion]] / total
            recalls.append(recall)
            line += f"   {recall:.3f}"
        print(line)
    happy_total = sum(confusion["happy"].values()) or 1
    print(f"UAR (angry->aggressive, sad->passive, neutral->assertive): {sum(recalls) / len(recalls):.3f}")
    print(f"happy called aggressive: {confusion['happy']['aggressive'] / happy_total:.3f}")
    for speaker in sorted({s for s, _ in per_speaker}):
        rec = [per_speaker[speaker, e][EXPECTED[e]] / max(1, sum(per_speaker[speaker, e].values())) for e in EXPECTED]
        happy = per_speaker[speaker, "happy"]
        print(f"  speaker {speaker}: UAR {sum(rec) / len(rec):.3f}, "
              f"happy called aggressive {happy['aggressive'] / max(1, sum(happy.values())):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
