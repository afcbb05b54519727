"""A team's own check of the verdict: the coaches' calls of stored turns (aggressive, passive or assertive, set
on the replay page) against what the verdict says, and a refit of its weights on those calls.

The dev corpora the shipped weights were fitted on are actors; a team's coaches hear its real agents. The refit
starts from the model in use and moves it only as far as the calls ask (:func:`voicerehearse.delivery_fit.fit`
with an anchor), and it is measured leave-one-trainee-out: each trainee's turns judged by weights fitted on the
others' calls, so the figure says how the refit does on an agent it has not heard.

>>> agreement([("aggressive", "aggressive"), ("assertive", "passive"), ("assertive", "assertive")]).summary()
'3 turns: agreement 67 %, UAR 0.750 (aggressive 1.00, assertive 0.50)'
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicerehearse import delivery, delivery_fit
from voicerehearse.errors import ConfigError
from voicerehearse.labels import STYLES
from voicerehearse.settings import Settings
from voicerehearse.types import Analysis, Baseline

MIN_TURNS = 12  # coach-called turns a refit needs at least ...
MIN_TRAINEES = 2  # ... from this many trainees (one is held out at a time)
_ACOUSTIC = frozenset(delivery_fit.CUES)


@dataclass(frozen=True)
class CalledTurn:
    """A stored turn a coach called, with what it was judged against."""

    turn_id: int
    trainee: str
    coach_label: str  # a style
    analysis: Analysis
    baseline: Baseline | None  # the session's calibration read (None: judged against the defaults)


@dataclass(frozen=True)
class Agreement:
    """How often the verdict says what the coaches said: ``counts[coach][verdict]`` turns."""

    counts: dict[str, dict[str, int]]

    @property
    def turns(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    def recall(self, style: str) -> float | None:
        """The share of turns the coaches called ``style`` that the verdict called the same; None: none called."""
        row = self.counts.get(style, {})
        total = sum(row.values())
        return row.get(style, 0) / total if total else None

    @property
    def uar(self) -> float | None:
        """Unweighted average recall over the styles the coaches used."""
        recalls = [r for r in map(self.recall, STYLES) if r is not None]
        return sum(recalls) / len(recalls) if recalls else None

    @property
    def share(self) -> float | None:
        """Turns on which the verdict and the coach agree."""
        return sum(self.counts.get(s, {}).get(s, 0) for s in STYLES) / self.turns if self.turns else None

    def summary(self) -> str:
        if not self.turns:
            return "no turns"
        per = ", ".join(f"{s} {self.recall(s):.2f}" for s in STYLES if self.recall(s) is not None)
        return f"{self.turns} turns: agreement {100 * self.share:.0f} %, UAR {self.uar:.3f} ({per})"


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    """Tally (coach's call, verdict) pairs."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for coach, verdict in pairs:
        counts[coach][verdict] += 1
    return Agreement({k: dict(v) for k, v in counts.items()})


def called_turns(store, *, trainee: str | None = None) -> tuple[CalledTurn, ...]:
    """Every analysed turn a coach called (of ``trainee`` only, when given), oldest first. Turns whose record
    cannot be read, or that hold no speech, are left out."""
    from sqlalchemy import select

    from voicerehearse.report_model import analysis_of
    from voicerehearse.store import BaselineRecord, PracticeSession, Trainee, Turn

    query = (select(Turn, Trainee.name, PracticeSession.baseline_id)
             .join(PracticeSession, PracticeSession.id == Turn.session_id)
             .join(Trainee, Trainee.id == PracticeSession.trainee_id)
             .where(Turn.coach_label.is_not(None), Turn.analysis.is_not(None))
             .order_by(Turn.id))
    if trainee is not None:
        query = query.where(Trainee.name == trainee)
    out, baselines = [], {}
    with store.session() as db:
        for turn, name, baseline_id in db.execute(query):
            analysis, _ = analysis_of(turn.analysis)
            if analysis is None or analysis.delivery.label not in STYLES or turn.coach_label not in STYLES:
                continue
            if baseline_id is not None and baseline_id not in baselines:
                record = db.get(BaselineRecord, baseline_id)
                baselines[baseline_id] = record.to_baseline() if record is not None else None
            out.append(CalledTurn(turn.id, name, turn.coach_label, analysis, baselines.get(baseline_id)))
    return tuple(out)


def judged(turns: Sequence[CalledTurn], settings: Settings) -> tuple[Analysis, ...]:
    """Each turn judged again with ``settings`` (and the model they name), as the verdict stands now."""
    from voicerehearse.pipeline import rejudge

    return tuple(rejudge(t.analysis, t.baseline, settings) for t in turns)


def current_agreement(turns: Sequence[CalledTurn], settings: Settings) -> Agreement:
    """The verdict of the model in use against the coaches' calls."""
    return agreement([(t.coach_label, a.delivery.label) for t, a in zip(turns, judged(turns, settings))])


@dataclass(frozen=True)
class TeamFit:
    """A refit on the coaches' calls: the model fitted on all of them, and how both models did on held trainees."""

    prior: dict[str, float]
    weights: dict[str, float]
    before: Agreement  # the model in use
    after: Agreement  # the refit, leave-one-trainee-out
    trainees: int

    @property
    def better(self) -> bool:
        """The refit agrees with the coaches more than the model in use, on trainees it was not fitted to."""
        return (self.after.uar or 0.0) > (self.before.uar or 0.0)


def _rows(turns: Sequence[CalledTurn], settings: Settings):
    """Excess matrix, non-acoustic score offsets (pairs x 3) and target columns of the turns."""
    now = judged(turns, settings)
    x = delivery_fit.design([(a.tone, a.pace, t.baseline) for t, a in zip(turns, now)], settings)
    offset = np.zeros((len(turns), 3))
    for i, a in enumerate(now):
        for r in a.delivery.reasons:
            if r.cue not in _ACOUSTIC and r.style in delivery_fit.COLUMNS:
                offset[i, delivery_fit.COLUMNS.index(r.style)] += r.contribution
    y = np.array([delivery_fit.COLUMNS.index(t.coach_label) for t in turns])
    return x, offset, y


def _weights(turns: Sequence[CalledTurn]) -> np.ndarray:
    """Each style the coaches used weighs the same, and within it each trainee the same."""
    groups = Counter((t.coach_label, t.trainee) for t in turns)
    per_style = Counter({s: len({tr for (st, tr) in groups if st == s}) for s, _ in groups})
    w = np.array([1.0 / groups[t.coach_label, t.trainee] / per_style[t.coach_label] for t in turns])
    return w / w.mean()


def refit(turns: Sequence[CalledTurn], settings: Settings, *, strength: float) -> TeamFit:
    """Refit the verdict's priors and weights on the coaches' calls, anchored at the model ``settings`` name with
    ``strength`` (larger: stay closer), and measure it leave-one-trainee-out against the model in use.

    Raises ConfigError when there are too few calls to fit and measure: fewer than MIN_TURNS turns, fewer than
    MIN_TRAINEES trainees, or a single style.
    """
    if not np.isfinite(strength) or strength <= 0:
        raise ConfigError(f"the anchor strength must be above 0, got {strength:g}", field="strength")
    trainees = sorted({t.trainee for t in turns})
    styles = {t.coach_label for t in turns}
    if len(turns) < MIN_TURNS or len(trainees) < MIN_TRAINEES or len(styles) < 2:
        raise ConfigError(f"{len(turns)} called turn(s) of {len(trainees)} trainee(s) in {len(styles)} style(s): a "
                          f"refit needs at least {MIN_TURNS} turns of {MIN_TRAINEES} trainees that the coaches called "
                          "in two styles or more (set 'Your call' on the replay page)")
    model = delivery.load_model(settings.delivery_model or None)
    anchor = ({"aggressive": model.prior.aggressive, "passive": model.prior.passive}, dict(model.weights))
    x, offset, y = _rows(turns, settings)
    w = _weights(turns)
    names = np.array([t.trainee for t in turns])
    held = []
    for name in trainees:
        train, test = names != name, names == name
        prior, weights = delivery_fit.fit(x[train], y[train], w[train], strength, offset=offset[train], anchor=anchor)
        z = delivery_fit.logits(x[test], prior, weights, offset[test])
        held += [(t.coach_label, delivery_fit.COLUMNS[int(k)]) for t, k in
                 zip((t for t, m in zip(turns, test) if m), z.argmax(axis=1))]
    prior, weights = delivery_fit.fit(x, y, w, strength, offset=offset, anchor=anchor)
    return TeamFit(prior, weights, current_agreement(turns, settings), agreement(held), len(trainees))


def model_file(team: TeamFit, settings: Settings, strength: float) -> str:
    """The refit as a model file for the ``delivery_model`` setting."""
    used = {c.spread_setting: getattr(settings, c.spread_setting) for c in delivery.ACOUSTIC_CUES}
    used["cue_threshold_spreads"] = settings.cue_threshold_spreads
    figures = {"model_in_use": team.before.summary(), "refit_leave_one_trainee_out": team.after.summary()}
    note = (f"the coaches' calls of {team.before.turns} turns of {team.trainees} trainees, anchored at "
            f"{settings.delivery_model or 'the bundled model'} with strength {strength:g}")
    return delivery_fit.model_text({k: round(v, 3) for k, v in team.prior.items()}, team.weights, figures, used,
                                   note, "the coaches' calls: the model in use on all, the refit on held trainees")

