#!/usr/bin/env python3
"""How much a team's own labels help: ``voicerehearse verdict fit`` simulated on labelled corpora.

Each corpus plays a team the shipped weights never heard, its speakers the team's trainees and its labels the
coaches' calls (angry -> aggressive, sad/bored/calm -> passive, neutral and happy -> assertive). For each corpus:
the starting model is fitted on the *other* corpora (spreads and weights, as ``fit_delivery.py`` does
leave-one-corpus-out); then each speaker is judged by that model refitted on the corpus' other speakers'
calls — exactly the product's ``team_verdict.refit`` (anchored, leave-one-trainee-out). So "before" is the
leave-one-corpus-out verdict and "after" what a team with that many labelled agents gets on a new agent; the
last report takes the refit only for the corpora where ``verdict fit`` says it agrees better (decided on the same
held-out calls it is then scored on, so read it as what a user following the advice gets, slightly optimistic).

    python scripts/evaluate_delivery.py ../shared/data/tess-dev ../shared/data/emotion-dev --dump /tmp/m.pkl
    python scripts/evaluate_team_fit.py /tmp/m.pkl [--strength 0.05 0.2]

Nothing here reads audio or writes anything but temporary model files.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_delivery as ev  # noqa: E402  (same folder)
import fit_delivery as fd  # noqa: E402

from voicerehearse import delivery, delivery_fit  # noqa: E402
from voicerehearse.pipeline import rejudge  # noqa: E402
from voicerehearse.settings import load_settings  # noqa: E402
from voicerehearse.team_verdict import CalledTurn, refit  # noqa: E402

CALL = {"aggressive": "aggressive", "passive": "passive", "neutral": "assertive", "other_high_arousal": "assertive"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="from evaluate_delivery.py --dump")
    parser.add_argument("--strength", type=float, nargs="+", default=None,
                        help="anchor strengths to try (default: the verdict_fit_anchor_weight setting)")
    args = parser.parse_args(argv)

    import __main__
    __main__.Clip = ev.Clip  # the dump pickles evaluate_delivery's Clip as __main__.Clip
    measured = pickle.loads(args.dump.read_bytes())
    base = load_settings()
    strengths = args.strength or [base.verdict_fit_anchor_weight]
    rows = [(clip, rejudge(a, b, base), b) for clip, a, b in ev.pairs(measured, "one", 3)]
    deltas = [(clip, delivery.cue_deltas(a.tone, a.pace, b, base)) for clip, a, b in rows]
    corpora = sorted({clip.corpus for clip, _, _ in rows})
    before, after, guarded = [], {s: [] for s in strengths}, {s: [] for s in strengths}
    with tempfile.TemporaryDirectory(prefix="team-fit-") as folder:
        for corpus in corpora:
            others = [c for c in corpora if c != corpus]
            fold = load_settings(overrides=fd.spreads(deltas, others))
            train = [r for r in rows if r[0].corpus != corpus]
            prior, weights = fd.fit(fd.design(train, fold), np.array([fd.TARGET[r[0].target] for r in train]),
                                    fd.sample_weights(train, 0.5), 0.01)
            prior = {k: v + 0.3 for k, v in prior.items()}  # as fit_delivery ships it
            start = Path(folder) / f"without-{corpus}.toml"
            start.write_text(delivery_fit.model_text({k: round(v, 3) for k, v in prior.items()}, weights, {}, {},
                                                     f"without {corpus}"), encoding="utf-8")
            team = [(clip, CalledTurn(i, clip.speaker, CALL[clip.target], a, b))
                    for i, (clip, a, b) in enumerate(rows) if clip.corpus == corpus]
            clip_of = {t.turn_id: clip for clip, t in team}
            speakers = len({t.trainee for _, t in team})
            settings = load_settings(overrides={**fd.spreads(deltas, others), "delivery_model": str(start)})
            kept = [(clip, rejudge(a, b, settings).delivery.label) for clip, a, b in rows if clip.corpus == corpus]
            before += kept
            for strength in strengths:
                fitted = refit([t for _, t in team], fold, strength=strength, anchor_model=str(start))
                refitted = [(clip_of[k], label) for k, label in fitted.held]
                after[strength] += refitted
                guarded[strength] += refitted if fitted.better else kept
                print(f"{corpus:<9} {speakers:>2} speakers  strength {strength:g}: before {fitted.before.summary()}"
                      f"\n{'':<22}after  {fitted.after.summary()}  -> {'adopt' if fitted.better else 'keep'}")
        overall, by_corpus, _ = ev.evaluate(before)
        ev.print_report("before: leave-one-corpus-out (the team's own calls unused)", overall, by_corpus, {}, False)
        for strength in strengths:
            overall, by_corpus, _ = ev.evaluate(after[strength])
            ev.print_report(f"after: refitted on the team's other speakers, strength {strength:g}", overall,
                            by_corpus, {}, False)
            overall, by_corpus, _ = ev.evaluate(guarded[strength])
            ev.print_report(f"as `verdict fit` advises (the refit only where it says it agrees better), strength "
                            f"{strength:g}", overall, by_corpus, {}, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
