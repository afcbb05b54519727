"""A team's own check of the verdict: the coaches' calls of stored turns (aggressive, passive or assertive, set
on the replay page) against what the verdict says, and a refit of its weights on those calls.

The dev corpora the shipped weights were fitted on are actors; a team's coaches hear its real agents. The refit
starts from the shipped model and moves it only as far as the calls ask (:func:`voicerehearse.delivery_fit.fit`
with an anchor), and it is measured leave-one-trainee-out: each trainee's turns judged by weights fitted on the
others' calls, so the figure says how the refit does on an agent it has not heard.

>>> agreement([("aggressive", "aggressive"), ("assertive", "passive"), ("assertive", "assertive")]).summary()
'3 turns: agreement 67 %, UAR 0.750 (aggressive 1.00, assertive 0.50)'
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicerehearse import delivery, delivery_fit
from voicerehearse.errors import ConfigError
from voicerehearse.labels import STYLES
from voicerehearse.settings import Settings
from voicerehearse.types import Analysis, Baseline

@dataclass(frozen=True)
class CalledTurn:
    """A stored turn a coach called, with what it was judged against."""

    turn_id: int
    trainee: str
    coach_label: str  # a style
    analysis: Analysis
    baseline: Baseline | None  # the calibration read it was judged against (None: the defaults)
    session_id: int = 0
    turn_index: int = 0


@dataclass(frozen=True)
class Calls:
    """The coach-called turns, and how many were left out because their calibration read is no longer stored."""

    turns: tuple[CalledTurn, ...]
    left_out: int = 0


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


def called_turns(store, *, trainee: str | None = None) -> Calls:
    """Every analysed turn a coach called (of ``trainee`` only, when given), oldest first, with the calibration
    read it was judged against: the session's, else the trainee's stored read of the name its analysis gives
    (imports and batches stored before sessions kept it). Turns whose record cannot be read or holds no speech are
    not calls of a delivery and are skipped; turns whose read is gone are counted in ``left_out``."""
    from sqlalchemy import select

    from voicerehearse.errors import StoreFormatError
    from voicerehearse.schema import analysis_from_record
    from voicerehearse.store import BaselineRecord, PracticeSession, Trainee, Turn

    query = (select(Turn, Trainee.name, Trainee.id, PracticeSession.baseline_id)
             .join(PracticeSession, PracticeSession.id == Turn.session_id)
             .join(Trainee, Trainee.id == PracticeSession.trainee_id)
             .where(Turn.coach_label.is_not(None), Turn.analysis.is_not(None))
             .order_by(Turn.id))
    if trainee is not None:
        query = query.where(Trainee.name == trainee)
    out, left_out, reads = [], 0, {}
    with store.session() as db:
        for turn, name, trainee_id, baseline_id in db.execute(query):
            if not isinstance(turn.analysis, dict):  # JSON null on some databases: never analysed
                continue
            try:
                analysis = analysis_from_record(turn.analysis)
            except StoreFormatError:
                continue
            if analysis.delivery.label not in STYLES or turn.coach_label not in STYLES:
                continue
            if trainee_id not in reads:  # (id, Baseline) of each of the trainee's reads, oldest first
                reads[trainee_id] = [(r.id, r.to_baseline()) for r in db.scalars(
                    select(BaselineRecord).where(BaselineRecord.trainee_id == trainee_id).order_by(BaselineRecord.id))]
            source = analysis.tone.baseline
            if baseline_id is not None:
                read = next((b for i, b in reads[trainee_id] if i == baseline_id), None)
            else:
                read = next((b for _, b in reversed(reads[trainee_id]) if b.source == source), None)
            if read is None and source not in (None, "absolute defaults"):
                left_out += 1  # judged against a read that is no longer stored: it cannot be judged again alike
                continue
            out.append(CalledTurn(turn.id, name, turn.coach_label, analysis, read, turn.session_id, turn.index))
    return Calls(tuple(out), left_out)


def judged(turns: Sequence[CalledTurn], settings: Settings) -> tuple[Analysis, ...]:
    """Each turn judged again with ``settings`` (and the model they name), as the product judges it now."""
    from voicerehearse.pipeline import rejudge

    return tuple(rejudge(t.analysis, t.baseline, settings) for t in turns)


def current_agreement(turns: Sequence[CalledTurn], settings: Settings) -> Agreement:
    """The verdict of the model ``settings`` name against the coaches' calls."""
    return agreement([(t.coach_label, a.delivery.label) for t, a in zip(turns, judged(turns, settings))])


@dataclass(frozen=True)
class TeamView:
    """What the coaches' page shows: the agreement over all calls and per trainee, and the turns where the verdict
    and the coach differ (newest first), each with what the verdict says now."""

    overall: Agreement
    by_trainee: tuple[tuple[str, Agreement], ...]
    differ: tuple[Difference, ...]
    left_out: int
    calls_needed: int  # more calls before `verdict fit` can run (0: it can)


@dataclass(frozen=True)
class Difference:
    """A called turn the verdict judges otherwise: the strongest reasons it heard for its own label and for the
    coach's call (in people's words; empty: none, the prior decided) — what it weighed too much or too little."""

    turn: CalledTurn
    verdict: str
    verdict_why: tuple[str, ...]
    coach_why: tuple[str, ...]


def _why(analysis: Analysis, style: str, count: int = 2) -> tuple[str, ...]:
    from voicerehearse.coaching import plain

    reasons = sorted((r for r in analysis.delivery.reasons if r.style == style), key=lambda r: -r.contribution)
    return tuple(plain(r.cue) for r in reasons[:count])


def team_view(calls: Calls, settings: Settings) -> TeamView:
    """The coaches' calls of ``calls`` against the verdict ``settings`` give."""
    now = judged(calls.turns, settings)
    per = defaultdict(list)
    for t, a in zip(calls.turns, now):
        per[t.trainee].append((t.coach_label, a.delivery.label))
    differ = tuple(Difference(t, a.delivery.label, _why(a, a.delivery.label), _why(a, t.coach_label))
                   for t, a in zip(reversed(calls.turns), reversed(now)) if a.delivery.label != t.coach_label)
    return TeamView(agreement([(t.coach_label, a.delivery.label) for t, a in zip(calls.turns, now)]),
                    tuple((name, agreement(pairs)) for name, pairs in sorted(per.items())), differ, calls.left_out,
                    calls_missing(calls.turns, settings))


def calls_missing(turns: Sequence[CalledTurn], settings: Settings) -> int:
    """How many more calls :func:`refit` needs (0: enough): ``verdict_fit_min_turn_count`` turns of
    ``verdict_fit_min_trainee_count`` trainees, in two styles or more (a missing trainee or style is one call)."""
    short_of_kinds = len({t.trainee for t in turns}) < settings.verdict_fit_min_trainee_count \
        or len({t.coach_label for t in turns}) < 2
    return max(int(short_of_kinds), settings.verdict_fit_min_turn_count - len(turns))


@dataclass(frozen=True)
class TeamFit:
    """A refit on the coaches' calls: the model fitted on all of them, and how it and the shipped model did on
    trainees they were not fitted to."""

    prior: dict[str, float]
    weights: dict[str, float]
    before: Agreement  # the anchor model: the shipped one unless told (never fitted on these turns)
    after: Agreement  # the refit, leave-one-trainee-out
    held: tuple[tuple[int, str], ...]  # (turn id, the refit's label with that turn's trainee held out)
    trainees: int
    strength: float

    @property
    def better(self) -> bool:
        """The refit agrees with the coaches more than the shipped model, on trainees it was not fitted to."""
        return (self.after.uar or 0.0) > (self.before.uar or 0.0)


def _rows(turns: Sequence[CalledTurn], now: Sequence[Analysis], settings: Settings):
    """Excess matrix, the scores the fit does not own (timing, words per minute, language: pairs x 3) and the
    target columns, from ``now``: the turns judged with ``settings``. The offsets are what the product's own
    scores hold beyond the prior and the acoustic cues."""
    model = delivery.load_model(settings.delivery_model or None)
    x = delivery_fit.design([(a.tone, a.pace, t.baseline) for t, a in zip(turns, now)], settings)
    prior = {"aggressive": model.prior.aggressive, "passive": model.prior.passive}
    rounded = np.round(x * np.array([model.weights[c] for c in delivery_fit.CUES]), 3)  # as judge rounds them
    acoustic = delivery_fit.logits(rounded, prior, dict.fromkeys(delivery_fit.CUES, 1.0))
    scores = np.array([[getattr(a.delivery.scores, c) for c in delivery_fit.COLUMNS] for a in now])
    y = np.array([delivery_fit.COLUMNS.index(t.coach_label) for t in turns])
    return x, scores - acoustic, y


def _weights(turns: Sequence[CalledTurn]) -> np.ndarray:
    """Each style the coaches used weighs the same, and within it each trainee the same."""
    groups = Counter((t.coach_label, t.trainee) for t in turns)
    per_style = Counter(style for style, _ in groups)
    w = np.array([1.0 / groups[t.coach_label, t.trainee] / per_style[t.coach_label] for t in turns])
    return w / w.mean()


def _fold_settings(settings: Settings, prior, weights, folder: Path, name: str) -> Settings:
    """``settings`` naming a model file of ``prior`` and ``weights`` written into ``folder``."""
    path = folder / f"{name}.toml"
    path.write_text(delivery_fit.model_text({k: round(v, 3) for k, v in prior.items()}, weights, {}, {}, name),
                    encoding="utf-8")
    return dataclasses.replace(settings, delivery_model=str(path))


def refit(turns: Sequence[CalledTurn], settings: Settings, *, strength: float | None = None,
          anchor_model: str = "") -> TeamFit:
    """Refit the verdict's priors and weights on the coaches' calls, anchored at the shipped model (or the model
    file ``anchor_model``) with ``strength`` (default ``verdict_fit_anchor_weight``; larger: stay closer), and
    measure it leave-one-trainee-out — each trainee's turns judged by the product's own judge with weights fitted
    on the other trainees' calls — against the anchor model on the same turns.

    Raises ConfigError when there are too few calls to fit and measure (``verdict_fit_min_turn_count`` turns of
    ``verdict_fit_min_trainee_count`` trainees, in two styles or more).
    """
    strength = settings.verdict_fit_anchor_weight if strength is None else strength
    if not math.isfinite(strength) or strength <= 0:
        raise ConfigError(f"the anchor strength must be above 0, got {strength:g}", field="strength")
    trainees = sorted({t.trainee for t in turns})
    styles = {t.coach_label for t in turns}
    if calls_missing(turns, settings):
        raise ConfigError(f"{len(turns)} called turn(s) of {len(trainees)} trainee(s) in {len(styles)} style(s): a "
                          f"refit needs at least {settings.verdict_fit_min_turn_count} turns of "
                          f"{settings.verdict_fit_min_trainee_count} trainees that the coaches called in two styles or more "
                          "(set 'Your call' on the replay page)")
    start = delivery.load_model(anchor_model or None)
    anchor = ({"aggressive": start.prior.aggressive, "passive": start.prior.passive}, dict(start.weights))
    now = judged(turns, settings)
    x, offset, y = _rows(turns, now, settings)
    names = np.array([t.trainee for t in turns])
    held = {}
    with tempfile.TemporaryDirectory(prefix="voicerehearse-fit-") as folder:
        for k, name in enumerate(trainees):
            train = names != name
            train_turns = [t for t, m in zip(turns, train) if m]
            prior, weights = delivery_fit.fit(x[train], y[train], _weights(train_turns), strength,
                                              offset=offset[train], anchor=anchor)
            fold = _fold_settings(settings, prior, weights, Path(folder), f"without-trainee-{k}")
            test_turns = [t for t, m in zip(turns, train) if not m]
            held.update((t.turn_id, a.delivery.label) for t, a in zip(test_turns, judged(test_turns, fold)))
    prior, weights = delivery_fit.fit(x, y, _weights(turns), strength, offset=offset, anchor=anchor)
    before = agreement([(t.coach_label, a.delivery.label) for t, a in zip(turns, now)]) \
        if anchor_model == settings.delivery_model else \
        current_agreement(turns, dataclasses.replace(settings, delivery_model=anchor_model))
    return TeamFit(prior, weights, before, agreement([(t.coach_label, held[t.turn_id]) for t in turns]),
                   tuple((t.turn_id, held[t.turn_id]) for t in turns), len(trainees), strength)


def model_file(team: TeamFit, settings: Settings) -> str:
    """The refit as a model file for the ``delivery_model`` setting, with the figures it was measured to."""
    used = {c.spread_setting: getattr(settings, c.spread_setting) for c in delivery.ACOUSTIC_CUES}
    used["cue_threshold_spreads"] = settings.cue_threshold_spreads
    figures = {"shipped_model": team.before.summary(), "refit_leave_one_trainee_out": team.after.summary()}
    note = (f"the coaches' calls of {team.before.turns} turns of {team.trainees} trainees, anchored at the shipped "
            f"model with strength {team.strength:g}")
    return delivery_fit.model_text({k: round(v, 3) for k, v in team.prior.items()}, team.weights, figures, used,
                                   note, "the coaches' calls: the shipped model on all, the refit on held trainees")
