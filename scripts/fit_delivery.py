#!/usr/bin/env python3
"""Fit the verdict's cue weights on labelled speech and report them leave-one-corpus-out.

Input: a dump of measured clips from ``scripts/evaluate_delivery.py DATA_DIR... --dump FILE``. Nothing here reads
audio; the dev recordings' licences are research-only, so neither they nor anything derived clip by clip are
committed — only the fitted weights and the figures they reach.

    python scripts/evaluate_delivery.py ../shared/data/tess-dev ../shared/data/emotion-dev --dump /tmp/m.pkl
    python scripts/fit_delivery.py /tmp/m.pkl                                  # spreads + LOCO figures
    python scripts/fit_delivery.py /tmp/m.pkl --write voicerehearse/delivery_model.toml

Steps: (1) each measure's normal spread = robust SD of its difference between two neutral clips of one speaker,
pooled with each corpus weighted equally; (2) features = spreads past ``cue_threshold_spreads`` per cue (the
product's own ``delivery.cue_excess``); (3) a softmax over the three styles where each cue feeds only its own
style with a weight >= 0 and assertive is the reference (so every contribution is readable and they add up to the
score); happy speech is taught as assertive at half weight (an upbeat agent is not aggressive); (4) leave one
corpus out: spreads and weights fitted on the others, the held corpus judged with the product's ``judge``.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_delivery as ev  # noqa: E402  (same folder)

from voicerehearse import delivery, delivery_fit  # noqa: E402
from voicerehearse.delivery_fit import CUES, fit  # noqa: E402
from voicerehearse.pipeline import rejudge  # noqa: E402
from voicerehearse.settings import load_settings  # noqa: E402

TARGET = {"aggressive": 0, "passive": 1, "neutral": 2, "other_high_arousal": 2}
FIGURES_NOTE = "leave-one-corpus-out on the data above (each held corpus judged by weights fitted on the rest)"
SPREAD_SETTING = {c.measure: c.spread_setting for c in delivery.ACOUSTIC_CUES}  # measure -> its spread's setting


def spreads(pairs, corpora):
    """Robust SD (1.4826 x MAD) of each measure's neutral-vs-neutral difference, corpora weighted equally. A measure
    no corpus has 10 neutral pairs of keeps the product's own setting (left out of the overrides)."""
    out = {}
    for measure, name in SPREAD_SETTING.items():
        per_corpus = []
        for corpus in corpora:
            values = [d[measure][0] for clip, d in pairs if clip.corpus == corpus and clip.target == "neutral"
                      and measure in d]
            if len(values) < 10:
                continue
            v = np.log(values) if measure == "rate" else np.asarray(values)
            per_corpus.append(1.4826 * np.median(np.abs(v - np.median(v))))
        if not per_corpus:
            continue
        s = float(np.mean(per_corpus))
        out[name] = round(100 * (math.exp(s) - 1), 1) if measure == "rate" else round(s, 2)
    return out


def design(rows, settings):
    """Excess matrix (pairs x cues) of (clip, analysis, baseline) rows, with the product's own feature code."""
    return delivery_fit.design([(a.tone, a.pace, b) for _, a, b in rows], settings)


def sample_weights(rows, happy_weight):
    """Each corpus weighs the same, each class the same within it, each clip once (its pairs share); happy speech
    at ``happy_weight``. ``rows``: tuples whose first item is the clip (whatever follows it)."""
    clips = [row[0] for row in rows]
    per_clip = defaultdict(int)
    for clip in clips:
        per_clip[clip] += 1
    groups = defaultdict(float)
    for clip in per_clip:
        groups[clip.corpus, clip.target] += 1
    w = np.array([1.0 / per_clip[clip] / groups[clip.corpus, clip.target] for clip in clips])
    w *= np.array([happy_weight if clip.target == "other_high_arousal" else 1.0 for clip in clips])
    return w / w.mean()


def fit_free(x, y, w, l2):
    """The alternative measured with ``--free-signs``: every cue weighs on aggressive and on passive with any sign
    (assertive the reference). Returns intercepts (3,) and weights (cues x 3). The product cannot ship it: a
    reason could then count against a style, which a coach reads less easily."""
    n, onehot = len(CUES), np.eye(3)[y]

    def loss(theta):
        b, W = np.array([theta[0], theta[1], 0.0]), np.column_stack([theta[2:].reshape(n, 2), np.zeros(n)])
        logits = b + x @ W
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        nll = -(w * np.log(np.maximum((p * onehot).sum(axis=1), 1e-12))).mean()
        g = (p - onehot) * w[:, None] / len(y)
        grad = np.concatenate([g.sum(axis=0)[:2], (x.T @ g)[:, :2].ravel() + 2 * l2 * theta[2:]])
        return nll + l2 * (theta[2:] ** 2).sum(), grad

    res = minimize(loss, np.concatenate([[-1.0, -1.0], np.zeros(2 * n)]), jac=True, method="L-BFGS-B")
    return np.array([res.x[0], res.x[1], 0.0]), np.column_stack([res.x[2:].reshape(n, 2), np.zeros(n)])


def calibration(judged, bins=(0.5, 0.8)):
    """How far ``delivery.confidence`` can be trusted: ``judged`` = (clip, label, confidence) judged out of sample.
    Happy clips have no one right style and are left out; each corpus and class weighs the same (as in the fit).
    Returns one line: expected calibration error (10 bins) and, per confidence band, how often the verdict was right."""
    judged = [j for j in judged if j[0].target in ev.EXPECTED]
    w = sample_weights(judged, 1.0)
    sure = np.array([j[2] for j in judged])
    right = np.array([j[1] == ev.EXPECTED[j[0].target] for j in judged], float)
    idx = np.minimum((sure * 10).astype(int), 9)
    ece = sum(abs(np.average(sure[idx == k], weights=w[idx == k]) - np.average(right[idx == k], weights=w[idx == k]))
              * w[idx == k].sum() for k in range(10) if (idx == k).any()) / w.sum()
    edges = (0.0, *bins, 1.01)
    bands = []
    for lo, hi in zip(edges, edges[1:]):
        m = (sure >= lo) & (sure < hi)
        if m.any():
            bands.append(f"{lo:.0%}-{min(hi, 1):.0%} sure: right {np.average(right[m], weights=w[m]):.2f} "
                         f"of {w[m].sum() / w.sum():.0%}")
    return f"ECE {ece:.3f}  mean {np.average(sure, weights=w):.2f} vs right {np.average(right, weights=w):.2f}  " + \
        "  ".join(bands)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="from evaluate_delivery.py --dump")
    parser.add_argument("--threshold", type=float, default=None, help="cue_threshold_spreads to fit with")
    parser.add_argument("--happy-weight", type=float, default=0.5)
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--prior-shift", type=float, default=0.3,
                        help="added to the aggressive and passive priors after fitting: trades a few neutral false "
                             "flags for recall of the other two (the fit alone favours 'assertive')")
    parser.add_argument("--write", type=Path, default=None, help="write the model fitted on all corpora here")
    parser.add_argument("--free-signs", action="store_true",
                        help="also report, leave-one-corpus-out, the alternative where every cue weighs on both "
                             "aggressive and passive with any sign (measured, not shipped)")
    args = parser.parse_args(argv)

    import __main__
    __main__.Clip = ev.Clip  # the dump pickles evaluate_delivery's Clip as __main__.Clip
    measured = pickle.loads(args.dump.read_bytes())
    base_settings = load_settings()
    overrides = {} if args.threshold is None else {"cue_threshold_spreads": args.threshold}
    rows = [(clip, rejudge(a, b, base_settings), b) for clip, a, b in ev.pairs(measured, "one", 3)]
    deltas = [(clip, delivery.cue_deltas(a.tone, a.pace, b, base_settings)) for clip, a, b in rows]
    corpora = sorted({clip.corpus for clip, _, _ in rows})
    print("normal spreads per corpus (neutral vs neutral of one speaker, robust SD):")
    for corpus in corpora:
        print(f"  {corpus:<10} {spreads(deltas, [corpus])}")
    pooled = spreads(deltas, corpora)
    print(f"  pooled     {pooled}")

    held_labels, held_sure = [], []
    for corpus in corpora:
        train_c = [c for c in corpora if c != corpus]
        fold_settings = load_settings(overrides={**spreads(deltas, train_c), **overrides})
        train = [r for r in rows if r[0].corpus != corpus]
        prior, weights = fit(design(train, fold_settings), np.array([TARGET[r[0].target] for r in train]),
                             sample_weights(train, args.happy_weight), args.l2)
        prior = {k: v + args.prior_shift for k, v in prior.items()}
        model = delivery.DeliveryModel("fold", delivery.StyleScores(prior["aggressive"], prior["passive"], 0.0),
                                       weights, f"without {corpus}")
        delivery._model.cache_clear()
        original = delivery._model
        delivery._model = lambda _path, m=model: m
        try:
            for clip, a, b in rows:
                if clip.corpus == corpus:
                    verdict = rejudge(a, b, fold_settings).delivery
                    held_labels.append((clip, verdict.label))
                    held_sure.append((clip, verdict.label, verdict.confidence))
        finally:
            delivery._model = original
    overall, by_corpus, by_speaker = ev.evaluate(held_labels)
    ev.print_report("leave-one-corpus-out (one-sentence baseline)", overall, by_corpus, by_speaker, False)
    sure = calibration(held_sure)
    print(f"confidence, leave-one-corpus-out: {sure}")

    if args.free_signs:
        free_labels = []
        for corpus in corpora:
            fold_settings = load_settings(overrides={**spreads(deltas, [c for c in corpora if c != corpus]),
                                                     **overrides})
            train = [r for r in rows if r[0].corpus != corpus]
            held = [r for r in rows if r[0].corpus == corpus]
            b, W = fit_free(design(train, fold_settings), np.array([TARGET[r[0].target] for r in train]),
                            sample_weights(train, args.happy_weight), args.l2)
            logits = b + np.array([args.prior_shift, args.prior_shift, 0.0]) + design(held, fold_settings) @ W
            free_labels += [(r[0], ("aggressive", "passive", "assertive")[int(np.argmax(z))]) for r, z in zip(held, logits)]
        free, free_corpus, free_speaker = ev.evaluate(free_labels)
        ev.print_report("free signs, leave-one-corpus-out (not shipped)", free, free_corpus, free_speaker, False)

    final_settings = load_settings(overrides={**pooled, **overrides})
    prior, weights = fit(design(rows, final_settings), np.array([TARGET[r[0].target] for r in rows]),
                         sample_weights(rows, args.happy_weight), args.l2)
    prior = {k: v + args.prior_shift for k, v in prior.items()}
    print("fitted on all corpora: prior", {k: round(v, 3) for k, v in prior.items()})
    print("  weights", {k: round(v, 3) for k, v in weights.items()})
    if args.write:
        figures = {"loco_all": overall.summary(), **{f"loco_{c}": by_corpus[c].summary() for c in sorted(by_corpus)},
                   "loco_confidence": sure}
        used = {**pooled, "cue_threshold_spreads": final_settings.cue_threshold_spreads}
        note = (f"{', '.join(corpora)}; one-sentence baseline; happy taught as assertive x{args.happy_weight}; "
                f"prior shift {args.prior_shift:+g}")
        args.write.write_text(delivery_fit.model_text(prior, weights, figures, used, note, FIGURES_NOTE),
                               encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
