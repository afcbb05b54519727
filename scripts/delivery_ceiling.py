#!/usr/bin/env python3
"""How far any acoustic model can go on labelled speech with a one-sentence baseline: a yardstick for the verdict.

The verdict's targets are measured leave-one-corpus-out (``scripts/fit_delivery.py``). This script asks what a
much richer, unconstrained model reaches on the same clips and protocol, so a shortfall can be told apart from
a ceiling of the data: all 88 eGeMAPS functionals (openSMILE, from the ``bench`` extras; a yardstick only, never
part of the product), each clip minus the speaker's neutral baseline clip, in units of the neutral-vs-neutral
spread, into a regularised multinomial logistic regression (scikit-learn, also from the ``bench`` extras).

    python scripts/delivery_ceiling.py ../shared/data/tess-dev ../shared/data/emotion-dev [--c 0.01 0.1 1]

Prints, with the evaluation's own tallies (``evaluate_delivery.evaluate``: each clip one vote, UAR over
aggressive / passive / neutral->assertive, happy->aggressive):
  1. leave one corpus out (fit on the other corpora, judge the held one), per regularisation strength ``--c``;
  2. within each corpus of >= 3 speakers, leave one speaker out: what the corpus' own labels allow at best.
Nothing is written; the recordings are only read.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_delivery as ev  # noqa: E402  (same folder)
import fit_delivery as fd  # noqa: E402  (same folder: the product fit's targets and sample weights)

NAMES = ("aggressive", "passive", "assertive")  # fd.TARGET's indices


def functionals(clips):
    """eGeMAPS functionals of each clip, or None for a clip openSMILE cannot read."""
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    out = {}
    for i, clip in enumerate(clips, 1):
        try:
            out[clip.path] = smile.process_file(clip.path).iloc[0].to_numpy(dtype=float)
        except Exception as exc:  # a yardstick: report and go on
            print(f"skipped {clip.path}: {exc}", file=sys.stderr)
        if i % 100 == 0:
            print(f"  {i} of {len(clips)} clips", file=sys.stderr)
    return out


def pairs(clips, feats):
    """(clip, clip features - baseline features) for each neutral baseline of the same speaker (never itself)."""
    neutral = defaultdict(list)
    for c in clips:
        if c.target == "neutral" and c.path in feats:
            neutral[c.speaker].append(c.path)
    return [(c, feats[c.path] - feats[b]) for c in clips if c.path in feats
            for b in neutral[c.speaker] if b != c.path]


def spread(x, rows, mask):
    """Robust SD of the neutral-vs-neutral differences per feature, each corpus in ``mask`` weighted equally.
    A corpus with fewer than 2 neutral rows in ``mask`` has no spread and is skipped; with none left, 1.0."""
    per = []
    for corpus in sorted({rows[i][0].corpus for i in np.flatnonzero(mask)}):
        m = mask & np.array([c.corpus == corpus and c.target == "neutral" for c, _ in rows])
        if m.sum() < 2:
            continue
        per.append(1.4826 * np.median(np.abs(x[m] - np.median(x[m], axis=0)), axis=0))
    if not per:
        return np.ones(x.shape[1])
    return np.maximum(np.mean(per, axis=0), 1e-6)


def held_out(rows, x, y, w, groups, c):
    """Labels for every row, each group judged by a model fitted on the other groups."""
    from sklearn.linear_model import LogisticRegression

    judged = []
    for g in sorted(set(groups)):
        train = groups != g
        if len(set(y[train])) < 2:  # nothing (or one class) left to fit on: this group cannot be judged
            print(f"skipped held-out {g}: the other groups hold {len(set(y[train]))} classes", file=sys.stderr)
            continue
        z = np.clip(x / spread(x, rows, train), -6, 6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(C=c, max_iter=3000).fit(z[train], y[train], sample_weight=w[train])
        judged += [(rows[i][0], NAMES[p]) for i, p in zip(np.flatnonzero(~train), model.predict(z[~train]))]
    return judged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--c", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="inverse L2 strengths to try")
    args = parser.parse_args(argv)

    clips = [c for folder in args.data_dirs for c in ev.read_manifest(folder)]
    print(f"eGeMAPS functionals of {len(clips)} clips ...", file=sys.stderr)
    rows = pairs(clips, functionals(clips))
    if not rows:
        print("no clip has a neutral baseline clip of the same speaker: nothing to measure", file=sys.stderr)
        return 1
    x = np.array([d for _, d in rows])
    y = np.array([fd.TARGET[c.target] for c, _ in rows])
    w = fd.sample_weights(rows, 0.5)
    corpus = np.array([c.corpus for c, _ in rows])
    for c in args.c:
        overall, by_corpus, _ = ev.evaluate(held_out(rows, x, y, w, corpus, c))
        print(f"leave one corpus out, 88 eGeMAPS functionals, C={c:g}: {overall.summary()}")
        for name in sorted(by_corpus):
            print(f"    held {name:<10} {by_corpus[name].summary()}")
    for name in sorted(set(corpus)):
        m = corpus == name
        speakers = np.array([c.speaker for c, _ in rows])[m]
        if len(set(speakers)) < 3:
            continue
        sub = [r for r, keep in zip(rows, m) if keep]
        overall, _, _ = ev.evaluate(held_out(sub, x[m], y[m], fd.sample_weights(sub, 0.5), speakers, min(args.c)))
        print(f"within {name}, leave one speaker out (C={min(args.c):g}): {overall.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
