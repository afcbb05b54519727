#!/usr/bin/env python3
"""Measure the delivery verdict on labelled recordings, the way users get it, per class, corpus and speaker.

Any folder with a ``manifest.csv`` works: columns ``file``, ``speaker`` and ``target_class`` (aggressive, passive,
neutral, other_high_arousal), or an ``emotion`` column instead (angry, sad/calm/bored, neutral, happy), and an
optional ``corpus`` column (else the folder name is the corpus).

Protocols (per speaker; a neutral clip is never its own baseline):
  one          each neutral clip in turn is the baseline; the speaker's other clips are judged against it
  calibration  the speaker's other neutral clips, up to --reads of them, are merged into one calibration read

Each clip is measured once by the product's pipeline (``analyze_audio``, with the words of ``--engine`` exactly as
``voicerehearse analyze`` transcribes them), then judged against each baseline with ``pipeline.rejudge`` — the
same function ``analyze`` ends in. ``--check-cli N`` runs the real ``voicerehearse analyze --json --baseline``
on N random (clip, baseline) pairs and reports any label that differs.

    python scripts/evaluate_delivery.py DATA_DIR... [--engine none|auto|pocketsphinx|vosk] [--protocol one]
    python scripts/evaluate_delivery.py ../shared/data/tess-dev ../shared/data/emotion-dev --dump /tmp/m.pkl
    python scripts/evaluate_delivery.py DATA_DIR... --noise-dbfs -50 --pad-s 0.5     # robustness: a noisy room
    python scripts/evaluate_delivery.py ../shared/data/asr-dev --unlabelled-as-neutral --speakers  # read speech

Prints per-class recall, UAR (aggressive, passive, neutral->assertive), neutral false flags split into
->aggressive and ->passive, happy->aggressive, each per corpus and per speaker. ``--dump`` writes the measured
clips and baselines for ``scripts/fit_delivery.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import random
import subprocess
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

EMOTION_CLASS = {"angry": "aggressive", "sad": "passive", "calm": "passive", "bored": "passive",
                 "neutral": "neutral", "happy": "other_high_arousal"}
EXPECTED = {"aggressive": "aggressive", "passive": "passive", "neutral": "assertive"}
LABELS = ("aggressive", "passive", "assertive", "no speech")


@dataclass(frozen=True)
class Clip:
    path: str
    speaker: str
    target: str  # aggressive | passive | neutral | other_high_arousal
    corpus: str


def read_manifest(folder: Path, unlabelled: str = "") -> list[Clip]:
    """The labelled clips of ``folder``; clips with no label at all take ``unlabelled`` (e.g. "neutral"), else are
    left out. A label outside the classes (fear, disgust, surprise) is always left out, never taken as unlabelled."""
    rows = list(csv.DictReader(open(folder / "manifest.csv", newline="", encoding="utf-8")))
    clips = []
    for row in rows:
        target_class, emotion = row.get("target_class") or "", row.get("emotion") or ""
        if target_class:
            target = target_class
        elif emotion:
            target = EMOTION_CLASS.get(emotion, "")
        else:
            target = unlabelled
        if target not in ("aggressive", "passive", "neutral", "other_high_arousal"):
            continue
        corpus = row.get("corpus") or folder.name
        clips.append(Clip(str(folder / row["file"]), f"{corpus}/{row['speaker']}", target, corpus))
    return clips


_ENGINE = None


def _noisy(path, settings, noise_dbfs, pad_s):
    """The clip with silence around it and white noise at ``noise_dbfs`` plus 50 Hz hum 5 dB under it: a noisy room."""
    import numpy as np
    import soundfile as sf

    from voicerehearse.audio.io import from_array

    y, sr = sf.read(path, dtype="float32", always_2d=True)
    pad = np.zeros(int(pad_s * sr), np.float32)
    y = np.concatenate([pad, y.mean(axis=1), pad])
    rng = np.random.default_rng(abs(hash(Path(path).name)) % 2**32)
    t = np.arange(y.size) / sr
    y = y + rng.standard_normal(y.size) * 10 ** (noise_dbfs / 20) \
        + np.sqrt(2) * 10 ** ((noise_dbfs - 5) / 20) * np.sin(2 * np.pi * 50 * t)
    return from_array(y.astype(np.float32), sr, settings=settings, path=Path(path).name)


def _measure(args):
    """One clip through the product's pipeline, without a baseline (worker process)."""
    clip, engine, config, noise_dbfs, pad_s = args
    from voicerehearse.audio.io import load_audio
    from voicerehearse.errors import VoiceRehearseError
    from voicerehearse.pipeline import analyze_audio, baseline_from_analysis
    from voicerehearse.settings import load_settings

    global _ENGINE
    settings = load_settings(config)
    try:
        words = None
        if engine != "none":
            from voicerehearse.transcribe.engine import choose_engine, transcribe_file

            if _ENGINE is None:
                _ENGINE = choose_engine(engine, settings=settings)
            words = transcribe_file(clip.path, engine=_ENGINE)
        audio = load_audio(clip.path, settings=settings) if noise_dbfs is None else \
            _noisy(clip.path, settings, noise_dbfs, pad_s)
        analysis = analyze_audio(audio, settings=settings, transcript=words)
        baseline = baseline_from_analysis(analysis, Path(clip.path).name) if analysis.delivery.label != "no speech" \
            else None
        return clip, analysis, baseline, None
    except VoiceRehearseError as exc:
        return clip, None, None, str(exc)


def measure_all(clips, engine, config, jobs, noise_dbfs=None, pad_s=0.0):
    work = [(c, engine, config, noise_dbfs, pad_s) for c in clips]
    if jobs <= 1:
        results = list(map(_measure, work))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_measure, work, chunksize=8))
    failed = [(c.path, err) for c, _, _, err in results if err]
    for path, err in failed:
        print(f"skipped {path}: {err}", file=sys.stderr)
    return [(c, a, b) for c, a, b, err in results if not err]


def pairs(measured, protocol, reads, seed=0):
    """(clip, analysis, baseline) pairs per the protocol; speakers without a usable neutral clip are left out."""
    from voicerehearse.pipeline import merge_baselines

    rng = random.Random(seed)
    neutral = defaultdict(list)
    for clip, analysis, baseline in measured:
        if clip.target == "neutral" and baseline is not None:
            neutral[clip.speaker].append((clip.path, baseline))
    for clip, analysis, _ in measured:
        pool = [(p, b) for p, b in neutral[clip.speaker] if p != clip.path]
        if not pool:
            continue
        if protocol == "one":
            for _, b in pool:
                yield clip, analysis, b
        else:
            chosen = rng.sample(pool, min(reads, len(pool)))
            yield clip, analysis, merge_baselines([b for _, b in chosen], f"{len(chosen)} neutral reads")


class Tally:
    def __init__(self):
        self.counts = defaultdict(Counter)  # target -> label -> n (weighted so each clip counts once)

    def add(self, target, label, weight=1.0):
        self.counts[target][label] += weight

    def recall(self, target):
        total = sum(self.counts[target].values())
        return self.counts[target][EXPECTED[target]] / total if total else None

    def share(self, target, label):
        total = sum(self.counts[target].values())
        return self.counts[target][label] / total if total else None

    def uar(self):
        recalls = [r for r in (self.recall(t) for t in EXPECTED) if r is not None]
        return sum(recalls) / len(recalls) if recalls else None

    def summary(self):
        def f(x):
            return "  -  " if x is None else f"{x:.3f}"

        n = {t: round(sum(self.counts[t].values())) for t in self.counts}
        return (f"UAR {f(self.uar())}  agg {f(self.recall('aggressive'))}  pas {f(self.recall('passive'))}  "
                f"neu {f(self.recall('neutral'))}  neu->agg {f(self.share('neutral', 'aggressive'))}  "
                f"neu->pas {f(self.share('neutral', 'passive'))}  happy->agg "
                f"{f(self.share('other_high_arousal', 'aggressive'))}  (clips {sum(n.values())})")


def evaluate(judged):
    """judged: (clip, label) per pair. Each clip's pairs share one vote, so speakers with many neutral clips
    do not dominate."""
    per_clip = defaultdict(list)
    for clip, label in judged:
        per_clip[clip].append(label)
    overall, by_corpus, by_speaker = Tally(), defaultdict(Tally), defaultdict(Tally)
    for clip, labels in per_clip.items():
        for label in labels:
            w = 1.0 / len(labels)
            for tally in (overall, by_corpus[clip.corpus], by_speaker[clip.speaker]):
                tally.add(clip.target, label, w)
    return overall, by_corpus, by_speaker


def print_report(title, overall, by_corpus, by_speaker, show_speakers=True):
    print(f"== {title}")
    print(f"{'target':<20} " + " ".join(f"{l:>10}" for l in LABELS))
    for target in ("aggressive", "passive", "neutral", "other_high_arousal"):
        c = overall.counts[target]
        total = sum(c.values()) or 1
        print(f"{target:<20} " + " ".join(f"{c[l] / total:>10.3f}" for l in LABELS))
    print(f"ALL        {overall.summary()}")
    for corpus in sorted(by_corpus):
        print(f"  {corpus:<10} {by_corpus[corpus].summary()}")
    if show_speakers:
        for speaker in sorted(by_speaker):
            print(f"    {speaker:<24} {by_speaker[speaker].summary()}")


def check_cli(judged_pairs, n, engine, config):
    """Run the real CLI on n pairs and count label disagreements with the in-process path."""
    sample = random.Random(1).sample(judged_pairs, min(n, len(judged_pairs)))
    exe = Path(sys.executable).with_name("voicerehearse")
    differ = 0
    for clip, label, baseline_path in sample:
        cmd = [str(exe), "analyze", clip.path, "--json", "--engine", engine, "--baseline", baseline_path]
        if config:
            cmd += ["--config", str(config)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        record = json.loads(out.stdout.splitlines()[0])
        if record["delivery"]["label"] != label:
            differ += 1
            print(f"  CLI differs: {clip.path} vs {baseline_path}: {record['delivery']['label']} != {label}")
    print(f"CLI check: {len(sample) - differ} of {len(sample)} (clip, baseline) pairs give the same label")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--engine", default="none", choices=("none", "auto", "pocketsphinx", "vosk"))
    parser.add_argument("--protocol", default="one", choices=("one", "calibration", "both"))
    parser.add_argument("--reads", type=int, default=3, help="neutral clips merged in the calibration protocol")
    parser.add_argument("--config", type=Path, default=None, help="TOML settings to evaluate")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dump", type=Path, default=None, help="write measured clips for fit_delivery.py")
    parser.add_argument("--load", type=Path, default=None, help="reuse a --dump instead of measuring again")
    parser.add_argument("--noise-dbfs", type=float, default=None,
                        help="robustness: add white noise at this level and 50 Hz hum 5 dB under it (a noisy room)")
    parser.add_argument("--pad-s", type=float, default=0.0, help="with --noise-dbfs: silence around each clip")
    parser.add_argument("--unlabelled-as-neutral", action="store_true",
                        help="clips without an emotion label count as neutral (read speech, e.g. asr-dev): "
                             "measures the neutral false flags on recordings made for something else")
    parser.add_argument("--speakers", action="store_true", help="also print each speaker's figures")
    parser.add_argument("--check-cli", type=int, default=0, metavar="N",
                        help="confirm N random pairs through the real `voicerehearse analyze` command")
    args = parser.parse_args(argv)

    from voicerehearse.pipeline import rejudge
    from voicerehearse.settings import load_settings

    settings = load_settings(args.config)
    if args.load:
        measured = pickle.loads(args.load.read_bytes())
    else:
        unlabelled = "neutral" if args.unlabelled_as_neutral else ""
        clips = [c for folder in args.data_dirs for c in read_manifest(folder, unlabelled)]
        print(f"measuring {len(clips)} clips from {len(args.data_dirs)} folder(s) (engine {args.engine}) ...",
              file=sys.stderr)
        measured = measure_all(clips, args.engine, args.config, args.jobs, args.noise_dbfs, args.pad_s)
    if args.dump:
        args.dump.write_bytes(pickle.dumps(measured))
    protocols = ("one", "calibration") if args.protocol == "both" else (args.protocol,)
    for protocol in protocols:
        judged, with_baseline = [], []
        for clip, analysis, baseline in pairs(measured, protocol, args.reads):
            label = rejudge(analysis, baseline, settings).delivery.label
            judged.append((clip, label))
            with_baseline.append((clip, label, baseline))
        overall, by_corpus, by_speaker = evaluate(judged)
        print_report(f"protocol {protocol}, engine {args.engine}", overall, by_corpus, by_speaker, args.speakers)
        if args.check_cli and protocol == "one":
            paths = {Path(c.path).name: c.path for c, _, _ in measured}
            check_cli([(c, l, paths[b.source]) for c, l, b in with_baseline], args.check_cli, args.engine,
                      args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
