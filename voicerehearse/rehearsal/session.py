"""The conversation: :func:`run_session` opens the session row, plays each customer line and its takes (retry,
play back), follows the branch the reply earned, and whatever happens gives the session a final status."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from voicerehearse.errors import DeviceError, VoiceRehearseError
from voicerehearse.live import RecognitionWorker
from voicerehearse.rehearsal.inputs import play_back, reply_file, resolve_engine, start_recognition
from voicerehearse.rehearsal.options import RehearsalOptions
from voicerehearse.rehearsal.storage import STORE_FAILURES, _store_failure, trainee_folder
from voicerehearse.rehearsal.take import _heard, _one_take, _set_call_outcome, wait_derived
from voicerehearse.rehearsal.view import ACTIONS, NullView, SessionOutcome, SessionView, Step
from voicerehearse.scenarios import Scenario, ScenarioTurn
from voicerehearse.settings import Settings
from voicerehearse.store import BaselineRecord, PracticeSession, Store, get_or_create_trainee


MAX_TAKES = 5  # takes of one turn (the first reply and its retries)


def run_session(store: Store, scenario: Scenario, trainee: str, options: RehearsalOptions, *, settings: Settings,
                view: SessionView = NullView(), stop: threading.Event | None = None,
                baseline: BaselineRecord | None = None) -> SessionOutcome:
    """Play every customer turn, record and analyse each reply, store everything; returns what happened.

    Ctrl-C, a device failure or a full disk during a take end the session early (``stopped``) with the current
    take kept; the session is then "complete" with that note. Any other failure after the session row exists
    (the prompt file, the database) still gives the session a final status — "stopped", with the error as its
    note — and propagates: a VoiceRehearseError as is, a database or disk failure as a StoreError.
    """
    engine_choice = resolve_engine(options, settings, load=False)
    if engine_choice is not None and engine_choice.engine == "pocketsphinx":
        view.notice("no Vosk model found: words come from the rough PocketSphinx fallback "
                    "(get a model: voicerehearse models fetch vosk-model-small-en-us-0.15)")
    try:
        with store.session() as db:
            t = get_or_create_trainee(db, trainee)
            session = PracticeSession(trainee_id=t.id, scenario_id=scenario.id, scenario_title=scenario.title,
                                      source="practice", status="recording",
                                      baseline_id=baseline.id if baseline is not None else None)
            db.add(session)
            db.commit()
            session_id, trainee_id = session.id, t.id
    except STORE_FAILURES as exc:
        raise _store_failure(f"a new session for {trainee!r}", exc) from exc
    outcome = SessionOutcome(session_id, trainee, scenario)
    recognition = None
    try:
        recognition = start_recognition(engine_choice, options)
        _run_turns(store, scenario, trainee_id, trainee, options, settings=settings, view=view, stop=stop,
                   baseline=baseline, recognition=recognition, outcome=outcome)
    except VoiceRehearseError as exc:
        _end_session(store, session_id, "stopped", str(exc), failing=True)
        raise
    except STORE_FAILURES as exc:
        error = _store_failure(f"session {session_id}", exc)
        _end_session(store, session_id, "stopped", str(error), failing=True)
        raise error from exc
    except BaseException as exc:  # Ctrl-C outside a take, or a bug: the session still ends, then it propagates
        _end_session(store, session_id, "stopped", str(exc) or type(exc).__name__, failing=True)
        raise
    finally:
        if recognition is not None:
            recognition.close()
        wait_derived()  # the replay's files of this session's takes, written while the trainee listened
    _end_session(store, session_id, "complete", outcome.stopped)
    return outcome


def _end_session(store: Store, session_id: int, status: str, note: str | None, *, failing: bool = False) -> None:
    """Give the session its final status. While another error propagates (``failing``) a failure here is dropped
    so the first error is the one reported; otherwise it is a StoreError."""
    try:
        with store.session() as db:
            session = db.get(PracticeSession, session_id)
            session.status = status
            session.ended_at = datetime.now(timezone.utc)
            session.note = note
            db.commit()
    except STORE_FAILURES as exc:
        if not failing:
            raise _store_failure(f"the end of session {session_id}", exc) from exc


def _run_turns(store: Store, scenario: Scenario, trainee_id: int, trainee: str, options: RehearsalOptions, *,
               settings: Settings, view: SessionView, stop: threading.Event | None, baseline: BaselineRecord | None,
               recognition: RecognitionWorker | None, outcome: SessionOutcome) -> None:
    """The conversation: each customer line, its takes (retries), then the follow-up the reply earned."""
    session_id = outcome.session_id
    folder = store.audio_dir(trainee_folder(trainee_id, trainee), f"session-{session_id:05d}")
    reference = baseline.to_baseline() if baseline is not None else None
    turn: ScenarioTurn | None = scenario.turns[0]
    number = 0
    while turn is not None:
        number += 1
        if number > options.max_turns:
            outcome.outcome = "resolved"
            view.notice(f"the call stops after {options.max_turns} customer lines")
            break
        prompt_wav = folder / f"turn-{number:02d}-customer.wav"
        take_no, last = 0, None
        while True:
            take_no += 1
            step = Step(number, take_no, turn)
            done = _one_take(store, scenario, step, options, folder, prompt_wav, reference, settings=settings,
                             view=view, stop=stop, recognition=recognition, outcome=outcome)
            if done is None:  # stopped (Ctrl-C before the line, device, disk)
                return
            last = done
            action = _choose(options, view, step)
            while action == "play":
                try:
                    play_back(last[0].wav, options)
                except DeviceError as exc:
                    view.notice(f"cannot play the take back: {exc}")
                action = _choose(options, view, step)
            if action != "retry" or take_no >= MAX_TAKES:
                break
        take, analysis, turn_id = last
        turn, ending = scenario.follow(step.turn, _heard(analysis, take))
        if ending is not None:
            outcome.outcome = ending
            if turn_id is not None:
                _set_call_outcome(store, turn_id, ending)
            view.call_end(ending)


def _choose(options: RehearsalOptions, view: SessionView, step: Step) -> str:
    """After the feedback: a scripted session retries when the next take's reply file exists; else the view."""
    if options.replies is not None:
        return "retry" if reply_file(options.replies, f"turn-{step.number}", step.take + 1) else "next"
    action = view.choose(step)
    return action if action in ACTIONS else "next"
