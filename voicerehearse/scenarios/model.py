"""The scenario model: frozen dataclasses built (and validated) by :mod:`voicerehearse.scenarios.loader`.

A scenario is a small conversation graph: each customer turn names follow-ups keyed on what the reply did
(:class:`Branch`), otherwise the call goes on to the turn's ``next`` (by default the following turn in the pack),
and a turn may end the call with an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicerehearse.labels import STYLES

DIFFICULTIES = ("easy", "medium", "hard")
CALL_KINDS = ("inbound", "outbound")
VERDICTS = STYLES  # a branch may follow any verdict
EVENTS = ("silence", "interrupted")  # no reply within the turn's time; the reply started over the customer
OUTCOMES = ("resolved", "escalated", "hung_up")
OUTCOME_TEXT = {"resolved": "resolved", "escalated": "escalated to a supervisor", "hung_up": "the customer hung up"}


@dataclass(frozen=True)
class Branch:
    """A follow-up: when the reply shows ``when`` (a verdict, a cue category or an event), go to ``goto`` or end
    the call with ``end``."""

    when: str
    goto: str | None = None  # id of the next customer turn
    end: str | None = None  # one of OUTCOMES


@dataclass(frozen=True)
class ScenarioTurn:
    """One customer line and what the agent's reply should (not) do."""

    index: int  # 1-based position in the pack file (not the order played: see the session's turn numbers)
    customer: str  # the customer's words, shown on screen and spoken when there is no recording
    audio: Path | None  # a recording of the line (absolute; resolved against the pack file), or None
    goal: str  # one line of coaching shown before the reply
    expect: tuple[str, ...]  # lexicon categories (analysis/lexicon.py) a good reply uses
    avoid: tuple[str, ...]  # lexicon categories a good reply avoids
    id: str = ""  # name used by branches; default "turn-<index>"
    model_lines: tuple[str, ...] = ()  # what an assertive agent might say here (shown as a better line)
    branches: tuple[Branch, ...] = ()  # checked in order; the first that matches decides
    next: str | None = None  # id of the turn after this one when no branch matches (None: the following turn)
    end: str | None = None  # when no branch matches, the call ends here with this outcome
    timeout_s: float | None = None  # no reply this long after the line: the take stops ("silence")


@dataclass(frozen=True)
class Scenario:
    id: str  # short name used on the command line, e.g. "late-fee-waiver"
    title: str
    difficulty: str  # one of DIFFICULTIES
    call: str  # "inbound" (customer-initiated) or "outbound" (the agent called)
    summary: str  # one line for `voicerehearse scenarios`
    briefing: str  # what the agent knows before the call starts (policy, account facts)
    turns: tuple[ScenarioTurn, ...]
    source: Path  # the pack file
    rubric: str | None = None  # the scorecard rubric coaches score it with (None: the default)

    @property
    def builtin(self) -> bool:
        return self.source.parent == Path(__file__).resolve().parent / "packs"

    def turn(self, turn_id: str) -> ScenarioTurn:
        return next(t for t in self.turns if t.id == turn_id)

    def follow(self, turn: ScenarioTurn, heard: set[str] | frozenset[str]) -> tuple[ScenarioTurn | None, str | None]:
        """What the customer does after a reply to ``turn`` that showed ``heard`` (its verdict, the cue categories
        found, and events): ``(next turn, None)``, or ``(None, outcome)`` when the call ends.

        A call that runs out of turns ends "resolved".
        """
        for branch in turn.branches:
            if branch.when in heard:
                return (self.turn(branch.goto), None) if branch.goto else (None, branch.end)
        if turn.end is not None:
            return None, turn.end
        if turn.next is not None:
            return self.turn(turn.next), None
        following = [t for t in self.turns if t.index == turn.index + 1]
        return (following[0], None) if following else (None, "resolved")
