"""What a session tells its user and what it gives back: the :class:`SessionView` protocol (the CLI renders it
with rich, tests record it), :class:`NullView`, the :class:`Step` being played, and the results
(:class:`TurnOutcome`, :class:`SessionOutcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from voicerehearse.audio.playback import PromptAudio
from voicerehearse.audio.reply_end import TakeProgress, TakeResult
from voicerehearse.audio.takes import RecoveredTake
from voicerehearse.coaching import Coaching
from voicerehearse.scenarios import Scenario, ScenarioTurn
from voicerehearse.store import Turn
from voicerehearse.types import Analysis, Transcript


ACTIONS = ("next", "retry", "play")  # what the trainee chooses after the feedback


@dataclass(frozen=True)
class Step:
    """One customer line of a session as played: ``number`` is the turn number every screen, record and export
    shows (1-based, in the order played; stored as ``Turn.index = number - 1``); ``take`` counts retries."""

    number: int
    take: int
    turn: ScenarioTurn  # the pack's turn (its own position in the file is ``turn.index``)


class SessionView(Protocol):
    """What the session tells its user. The CLI renders it with rich; tests record it."""

    def notice(self, message: str) -> None: ...
    def ready(self, scenario: Scenario, step: Step) -> None: ...  # may block until the trainee is ready
    def calibration_start(self, passage: str) -> None: ...
    def turn_start(self, scenario: Scenario, step: Step, prompt: PromptAudio) -> None: ...
    # after every block: the words so far and the provisional verdict of the take so far (None until the first)
    def progress(self, progress: TakeProgress, partial: Transcript | None, provisional: Analysis | None) -> None: ...
    def take_end(self, result: TakeResult) -> None: ...
    # verdict_after_s: from the capture of the reply's last block (the one at which it ended) to now
    def turn_done(self, step: Step, analysis: Analysis, record: Turn, verdict_after_s: float,
                  coaching: Coaching) -> None: ...
    def choose(self, step: Step) -> str: ...  # one of ACTIONS; may block (``--step``) or time out
    def call_end(self, outcome: str) -> None: ...


class NullView:
    def notice(self, message): pass
    def ready(self, scenario, step): pass
    def calibration_start(self, passage): pass
    def turn_start(self, scenario, step, prompt): pass
    def progress(self, progress, partial, provisional): pass
    def take_end(self, result): pass
    def turn_done(self, step, analysis, record, verdict_after_s, coaching): pass
    def choose(self, step): return "next"
    def call_end(self, outcome): pass


@dataclass
class TurnOutcome:
    index: int  # the turn number (1-based, as shown)
    turn_id: int | None
    audio: Path | None
    label: str | None
    analysis: Analysis | None = None
    take: int = 1
    coaching: Coaching | None = None


@dataclass
class SessionOutcome:
    session_id: int
    trainee: str
    scenario: Scenario
    turns: list[TurnOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the session ended early (Ctrl-C, device, disk), else None
    recovered: list[RecoveredTake] = field(default_factory=list)
    outcome: str | None = None  # how the call ended (scenarios.model.OUTCOMES), None when stopped early
