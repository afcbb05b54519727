"""The scenario model: frozen dataclasses built (and validated) by :mod:`voicerehearse.scenarios.loader`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DIFFICULTIES = ("easy", "medium", "hard")
CALL_KINDS = ("inbound", "outbound")


@dataclass(frozen=True)
class ScenarioTurn:
    """One customer line and what the agent's reply should (not) do."""

    index: int  # 1-based position in the scenario
    customer: str  # the customer's words, shown on screen and spoken when there is no recording
    audio: Path | None  # a recording of the line (absolute; resolved against the pack file), or None
    goal: str  # one line of coaching shown before the reply
    expect: tuple[str, ...]  # lexicon categories (analysis/lexicon.py) a good reply uses
    avoid: tuple[str, ...]  # lexicon categories a good reply avoids


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

    @property
    def builtin(self) -> bool:
        return self.source.parent == Path(__file__).resolve().parent / "packs"
