"""Runs a practice session: prompt -> capture -> analyse -> store. Wires the stages; computes nothing itself.

The terminal (or a test) sees the session through a :class:`SessionView`; audio comes from :func:`open_blocks`
— the live duplex stream, optionally with recorded replies mixed in (``--replies``).
Every take is written to disk as it is captured (:mod:`voicerehearse.audio.takes`), so a crash, Ctrl-C,
a full disk or a failing device never loses more than the last fraction of a second.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.analysis.pace import pace_metrics, syllable_nuclei
from voicerehearse.analysis.tone import measure_voice
from voicerehearse.audio.devices import DuplexCapture
from voicerehearse.audio.reply_end import ReplyEnd, TakeProgress, TakeResult, mix_in, record_take
from voicerehearse.audio.takes import (
    RecoveredTake, TakeStorageError, TakeWriter, pending_takes, recover_take, unstored_takes,
)
from voicerehearse.audio.io import load_audio
from voicerehearse.audio.playback import PromptAudio, PromptSource, prompt_audio
from voicerehearse.errors import DeviceError, EngineError, VoiceRehearseError
from voicerehearse.pipeline import analyze_audio, measure_baseline
from voicerehearse.settings import describe
from voicerehearse.scenarios import Scenario, ScenarioTurn
from voicerehearse.schema import analysis_record
from voicerehearse.store import BaselineRecord, PracticeSession, Store, StoreError, Turn, get_or_create_trainee
from voicerehearse.types import Analysis, Transcript

CALIBRATION_PASSAGE = (
    "The library opens at nine in the morning on weekdays. On Saturdays it opens a little later, at ten, "
    "and it closes in the early afternoon. Books can be returned at the front desk or through the slot "
    "beside the main door."
)
REPLY_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
# failures of the database or the disk while storing a take: the take is kept (with its sidecar) for a later run
STORE_FAILURES = (SQLAlchemyError, sqlite3.Error, OSError)


@dataclass(frozen=True)
class RehearsalOptions:
    sample_rate_hz: int = 16000  # capture and playback rate of the duplex stream
    blocksize: int = 800  # frames per PortAudio block (50 ms at 16 kHz)
    input_device: str | int | None = None  # PortAudio index or name substring; None = system default
    output_device: str | int | None = None
    headset: bool = True  # False: speakers, so the mic hears the customer (bleed is rejected by the analysis)
    lead_in_s: float = describe("prompt_lead_in_s").default  # recorded silence before the customer's line starts in each take
    reply_end: ReplyEnd = ReplyEnd()  # when a reply is over
    speak: bool = True  # espeak-ng for lines without a recording (else a cue tone)
    engine: str = "none"  # "none"; "auto": Vosk when a model resolves, else the labelled PocketSphinx fallback; "vosk"
    model: str | None = None  # Vosk model folder
    replies: Path | None = None  # non-interactive: recorded replies mixed into the mic signal, one per turn


class SessionView(Protocol):
    """What the session tells its user. The CLI renders it with rich; tests record it."""

    def notice(self, message: str) -> None: ...
    def ready(self, scenario: Scenario, turn: ScenarioTurn) -> None: ...  # may block until the trainee is ready
    def calibration_start(self, passage: str) -> None: ...
    def turn_start(self, scenario: Scenario, turn: ScenarioTurn, prompt: PromptAudio) -> None: ...
    def progress(self, progress: TakeProgress, partial: Transcript | None, syllable_rate: float | None) -> None: ...
    def take_end(self, result: TakeResult) -> None: ...
    def turn_done(self, turn: ScenarioTurn, analysis: Analysis, record: Turn, verdict_after_s: float) -> None: ...


@dataclass
class TurnOutcome:
    index: int
    turn_id: int | None
    audio: Path | None
    label: str | None
    analysis: Analysis | None = None


@dataclass
class SessionOutcome:
    session_id: int
    trainee: str
    scenario: Scenario
    turns: list[TurnOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the session ended early (Ctrl-C, device, disk), else None
    recovered: list[RecoveredTake] = field(default_factory=list)


class NullView:
    def notice(self, message): pass
    def ready(self, scenario, turn): pass
    def calibration_start(self, passage): pass
    def turn_start(self, scenario, turn, prompt): pass
    def progress(self, progress, partial, syllable_rate): pass
    def take_end(self, result): pass
    def turn_done(self, turn, analysis, record, verdict_after_s): pass


def _slug(name: str) -> str:
    """A readable folder name: letters of any script and digits ("Анна" -> "анна"), at most 40 characters."""
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", name).casefold()).strip("-")
    return slug[:40].strip("-") or "trainee"


def trainee_folder(trainee_id: int, name: str) -> str:
    """``<slug>-<id>``: the database id keeps two trainees apart even when their names slug alike."""
    return f"{_slug(name)}-{trainee_id}"


def _describe(exc: BaseException) -> str:
    """One line for a database or disk failure: SQLAlchemy's driver error (``OperationalError: database is
    locked``), without the SQL and the link SQLAlchemy adds."""
    exc = getattr(exc, "orig", None) or exc
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _store_failure(what: str, exc: BaseException, kept: Path | None = None) -> StoreError:
    keep = f"; the take is kept in {kept} and will be stored at the next start" if kept is not None else ""
    return StoreError(f"cannot store {what}: {_describe(exc)}{keep}")


# --------------------------------------------------------------------------- audio sources


def reply_file(replies: Path, name: str) -> Path | None:
    """``DIR/<name>.wav`` (or .flac/.ogg/.mp3); turn names are ``turn-1`` / ``1`` (zero padding allowed)."""
    candidates = [name]
    m = re.fullmatch(r"turn-(\d+)", name)
    if m:
        n = int(m.group(1))
        candidates += [f"turn-{n:02d}", f"turn{n}", f"{n}", f"{n:02d}"]
    for stem in candidates:
        for ext in REPLY_EXTENSIONS:
            if (replies / f"{stem}{ext}").is_file():
                return replies / f"{stem}{ext}"
    return None


@dataclass
class InputFeed:
    blocks: Iterator[np.ndarray]  # mic blocks, (frames,) int16
    device: DuplexCapture | None  # the stream behind them (None for a file or a test source)

    @property
    def output_delay_s(self) -> float:
        return (self.device.output_delay_s or 0.0) if self.device is not None else 0.0

    @property
    def problems(self) -> list[str]:
        return list(self.device.statuses) if self.device is not None else []


@contextmanager
def open_blocks(options: RehearsalOptions, prompt: PromptSource | None, reply: Path | None) -> Iterator[InputFeed]:
    """The mic as blocks, with the prompt playing on the same stream; ``reply`` (a recording) is mixed in."""
    with DuplexCapture(sample_rate=options.sample_rate_hz, input_device=options.input_device,
                       output_device=options.output_device, prompt=prompt, output=prompt is not None,
                       blocksize=options.blocksize) as capture:
        blocks = capture.blocks()
        if reply is not None:
            samples = load_audio(reply).samples
            if options.sample_rate_hz != 16000:
                from voicerehearse.audio.io import resample

                samples = resample(samples, orig_sr=16000, target_sr=options.sample_rate_hz)
            blocks = mix_in(blocks, samples)
        yield InputFeed(blocks, capture)


class LiveRecognizer:
    """Streaming recognition of a take in a background thread (Vosk via transcribe.engine)."""

    def __init__(self, choice, sample_rate: int):
        from voicerehearse.transcribe.engine import transcribe_blocks

        self.partial: Transcript | None = None
        self.result: Transcript | None = None
        self.error: VoiceRehearseError | None = None
        self._queue: queue.Queue = queue.Queue()

        def blocks():
            while (block := self._queue.get()) is not None:
                yield block

        def run():
            try:
                self.result = transcribe_blocks(blocks(), sample_rate=sample_rate, engine=choice,
                                                on_partial=self._on_partial)
            except VoiceRehearseError as exc:
                self.error = exc
            except Exception as exc:  # a recogniser crash must not end the take; reported by finish()
                self.error = EngineError(f"live recognition failed: {exc!r}")

        self._thread = threading.Thread(target=run, name="live-recognition", daemon=True)
        self._thread.start()

    def _on_partial(self, transcript: Transcript) -> None:
        self.partial = transcript

    def feed(self, block: np.ndarray) -> None:
        self._queue.put(block)

    def finish(self, timeout_s: float = 15.0) -> Transcript | None:
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.error = EngineError(f"live recognition did not finish within {timeout_s:g} s")
        return self.result


def resolve_engine(options: RehearsalOptions, settings):
    """The recogniser for live transcription, or None when recognition is off (acoustic only).

    "auto" without a Vosk model gives the PocketSphinx fallback, whose transcripts say they are rough.
    """
    if options.engine == "none":
        return None
    from voicerehearse.transcribe.engine import choose_engine

    choice = choose_engine(options.engine, options.model, settings=settings)
    if choice.engine == "vosk":
        from voicerehearse.transcribe.vosk_engine import load_model

        load_model(choice.model_path)  # once per process, before the first take rather than during it
    return choice


class LivePace:
    """Articulation rate (syllables per second of speech) of the reply so far, for the live display: the analysis
    stages (frames -> activity -> voice -> syllable nuclei -> pace) re-run on the last ``window_s`` of the reply
    once per ``every_s`` of audio. Blocks before ``from_frame`` (the customer's line, with speakers) are skipped."""

    def __init__(self, sample_rate: int, settings, *, from_frame: int = 0, window_s: float = 8.0, every_s: float = 1.0):
        self.sample_rate = sample_rate
        self.settings = settings
        self.from_frame = from_frame
        self.window = int(window_s * sample_rate)
        self.every = int(every_s * sample_rate)
        self.rate: float | None = None
        self._blocks: deque[np.ndarray] = deque()
        self._held = 0
        self._since = 0

    def feed(self, block: np.ndarray, end_frame: int) -> float | None:
        if end_frame <= self.from_frame:
            return self.rate
        self._blocks.append(block)
        self._held += block.shape[0]
        self._since += block.shape[0]
        while self._held - self._blocks[0].shape[0] >= self.window:
            self._held -= self._blocks.popleft().shape[0]
        if self._since >= self.every:
            self._since = 0
            y = np.concatenate(self._blocks).astype(np.float32) / 32768.0
            framed = framed_from_settings(y, self.sample_rate, self.settings)
            activity = speech_activity(framed, self.settings)
            if activity.has_speech:
                voice = measure_voice(framed, activity, self.settings)
                nuclei = syllable_nuclei(framed, activity, voice.track, self.settings)
                self.rate = pace_metrics(nuclei, activity, None).articulation_rate
        return self.rate


# --------------------------------------------------------------------------- one take


@dataclass(frozen=True)
class Take:
    wav: Path
    result: TakeResult
    transcript: Transcript | None
    error: VoiceRehearseError | None  # a device or disk failure that ended the take early
    interrupted: bool  # Ctrl-C
    output_delay_s: float  # playback + capture latency: the prompt is heard this much after its start frame
    writer: TakeWriter = field(repr=False, compare=False)  # holds the WAV (and its sidecar) until stored

    def settle(self) -> None:
        """Stored (as far as it can be): drop the sidecar, so recovery never stores it again."""
        self.writer.settle()

    def release(self) -> None:
        """Not stored: keep the sidecar, so the next start stores it."""
        self.writer.close()


def _take(stem: Path, meta: dict, options: RehearsalOptions, prompt: PromptSource | None, prompt_end_frame: int,
          reply: Path | None, view: SessionView, stop: threading.Event | None, engine_choice, settings) -> Take:
    """Record one take to ``stem`` (crash-safe) and finalise it; errors end the take but keep the audio."""
    writer = TakeWriter(stem, sample_rate=options.sample_rate_hz, meta=meta)
    recognizer = LiveRecognizer(engine_choice, options.sample_rate_hz) if engine_choice is not None else None
    pace = LivePace(options.sample_rate_hz, settings, from_frame=0 if options.headset else prompt_end_frame)
    result = TakeResult(0, options.sample_rate_hz, "error", False)
    error: VoiceRehearseError | None = None
    interrupted = False

    # with speakers the mic hears the customer: the recogniser gets silence until the line (and its echo) is over,
    # so the customer's words never count as the trainee's (word times stay aligned with the take)
    words_from = 0 if options.headset else prompt_end_frame + int(options.reply_end.bleed_tail_s * options.sample_rate_hz)

    def on_block(block, progress):
        if recognizer is not None:
            recognizer.feed(block if progress.frame > words_from else np.zeros_like(block))
        rate = pace.feed(block, progress.frame)
        view.progress(progress, recognizer.partial if recognizer is not None else None, rate)

    delay = 0.0
    try:
        with open_blocks(options, prompt, reply) as feed:
            try:
                result = record_take(feed.blocks, writer, sample_rate=options.sample_rate_hz,
                                     prompt_end_frame=prompt_end_frame, end=options.reply_end, headset=options.headset,
                                     stop=stop, on_block=on_block)
            finally:
                delay = feed.output_delay_s
                if feed.problems:
                    view.notice(f"the audio device reported {len(feed.problems)} problem(s) during the take "
                                f"({feed.problems[0]}); some audio may be missing")
    except KeyboardInterrupt:
        interrupted = True
    except (DeviceError, TakeStorageError) as exc:
        error = exc
    if interrupted or error is not None:
        result = TakeResult(writer.frames, options.sample_rate_hz, "stopped", False)
    view.take_end(result)
    transcript = recognizer.finish() if recognizer is not None else None
    if recognizer is not None and recognizer.error is not None:
        view.notice(f"{recognizer.error}; judging this reply from the audio only")
    try:  # the sidecar stays until the caller has stored the take (Take.settle)
        wav, _ = writer.finalise(keep_sidecar=True)
    except TakeStorageError as exc:  # the .part stays on disk and is recovered at the next start
        writer.close()
        raise TakeStorageError(f"{error or exc}; the take is kept in {writer.part} and will be recovered "
                               "at the next start") from None
    return Take(wav, result, transcript, error, interrupted, delay, writer)


# --------------------------------------------------------------------------- calibration


def latest_baseline(store: Store, trainee: str) -> BaselineRecord | None:
    with store.session() as db:
        t = get_or_create_trainee(db, trainee)
        db.commit()
        return t.baselines[-1] if t.baselines else None


def calibrate(store: Store, trainee: str, options: RehearsalOptions, *, settings, view: SessionView = NullView(),
              stop: threading.Event | None = None) -> BaselineRecord:
    """Record the trainee reading :data:`CALIBRATION_PASSAGE`, measure it and store it as their baseline."""
    try:
        with store.session() as db:
            t = get_or_create_trainee(db, trainee)
            db.commit()
            trainee_id = t.id
    except STORE_FAILURES as exc:
        raise _store_failure(f"trainee {trainee!r}", exc) from exc
    folder = store.audio_dir(trainee_folder(trainee_id, trainee), "baselines")
    stem = folder / datetime.now(timezone.utc).strftime("baseline-%Y%m%dT%H%M%S")
    base, n = stem.name, 1
    while any((folder / f"{stem.name}{ext}").exists() for ext in (".wav", ".part", ".take.json")):
        n += 1  # two reads in the same second; another process racing for the same name gets TakeBusyError
        stem = folder / f"{base}-{n}"
    view.calibration_start(CALIBRATION_PASSAGE)
    reply = reply_file(options.replies, "calibration") if options.replies is not None else None
    if stop is not None:
        stop.clear()
    calib = replace(options, reply_end=replace(options.reply_end, no_reply_s=max(options.reply_end.no_reply_s, 15.0)))
    take = _take(stem, {"kind": "baseline", "trainee": trainee}, calib, None, 0, reply, view, stop, None, settings)
    if take.interrupted or take.error is not None:
        take.settle()  # an abandoned read is not a baseline: recovery must not store it later
        if take.interrupted:
            raise KeyboardInterrupt
        raise take.error
    try:
        record = _store_baseline(store, trainee, take.wav, settings)
    except VoiceRehearseError:  # e.g. no speech in the read: it will never be a baseline
        take.settle()
        raise
    except STORE_FAILURES as exc:
        take.release()
        raise _store_failure(f"the baseline of {trainee}", exc, take.wav) from exc
    take.settle()
    return record


def _store_baseline(store: Store, trainee: str, wav: Path, settings) -> BaselineRecord:
    baseline = measure_baseline(wav, settings)
    with store.session() as db:
        t = get_or_create_trainee(db, trainee)
        record = BaselineRecord(trainee_id=t.id, audio_path=store.relative(wav),
                                measures=BaselineRecord.measures_of(baseline))
        db.add(record)
        db.commit()
        return record


# --------------------------------------------------------------------------- analysis + store of one turn


def _analyse_and_store(store: Store, session_id: int, index: int, customer_text: str, wav: Path, prompt_wav: Path | None,
                       prompt_start_s: float, baseline, transcript: Transcript | None, settings) -> tuple[Turn, Analysis]:
    """Store the turn's recording, then analyse it and store the analysis. When the analysis fails (e.g. a take cut
    too short to judge) the turn stays stored with its audio and the error propagates."""
    with store.session() as db:
        turn = db.scalar(select(Turn).where(Turn.session_id == session_id, Turn.index == index))
        if turn is None:
            turn = Turn(session_id=session_id, index=index)
            db.add(turn)
        turn.customer_text = customer_text
        turn.audio_path = store.relative(wav)
        turn.prompt_start_s = prompt_start_s if prompt_wav is not None else None
        db.commit()
        audio = load_audio(wav, settings=settings)
        audio = replace(audio, path=store.relative(wav))
        prompt = load_audio(prompt_wav, settings=settings) if prompt_wav is not None and prompt_wav.is_file() else None
        if prompt is not None:  # a take stopped early (Ctrl-C, device) cut the customer's line short too
            heard = max(0, audio.samples.shape[-1] - int(round(prompt_start_s * prompt.sample_rate)))
            prompt = replace(prompt, samples=prompt.samples[:heard]) if heard > 0 else None
        analysis = analyze_audio(audio, settings=settings, baseline=baseline, transcript=transcript, prompt=prompt,
                                 prompt_start_s=prompt_start_s)
        turn.set_analysis(analysis_record(analysis))
        db.commit()
        return turn, analysis


# --------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class Recovery:
    take: RecoveredTake
    stored: str  # what it became: "turn 2 of session 5", "baseline of Dana", or "audio only"
    problem: str | None  # why it could not be analysed or stored, if so (the WAV is kept either way)


def recover(store: Store, *, settings) -> list[Recovery]:
    """Store takes left by a killed session (analysed when possible) and mark their sessions — one take at a time.

    Each ``.part`` is converted, stored, and only then loses its sidecar; a take whose storing fails (database
    locked, disk error) keeps its sidecar beside the WAV and the next call stores it. Failures are reported as
    that take's ``problem``, never raised.
    """
    results = []
    folder = store.data_dir / "audio"
    for path in pending_takes(folder) + unstored_takes(folder):
        try:
            take = recover_take(path)
        except TakeStorageError as exc:  # cannot even convert it (disk full): the .part stays for next time
            results.append(Recovery(RecoveredTake(path, {}, 0.0), "not stored yet", str(exc)))
            continue
        if take is None:  # another process is writing or storing it
            continue
        try:
            stored, problem = _store_recovered(store, take, settings)
        except STORE_FAILURES as exc:
            take.release()
            results.append(Recovery(take, "not stored yet", f"{_describe(exc)}; it will be stored at the next start"))
            continue
        except BaseException:
            take.release()
            raise
        try:
            take.settle()
        except TakeStorageError as exc:
            problem = problem or str(exc)
        results.append(Recovery(take, stored, problem))
    return results


def _store_recovered(store: Store, take: RecoveredTake, settings) -> tuple[str, str | None]:
    """Store one recovered take: (what it became, why it could not be analysed). Database and disk failures
    propagate (the take is then kept for the next run); a VoiceRehearseError is final and becomes the problem."""
    meta = take.meta
    try:
        if meta.get("kind") == "baseline" and meta.get("trainee"):
            _store_baseline(store, meta["trainee"], take.wav, settings)
            return f"baseline of {meta['trainee']}", None
        if meta.get("kind") == "turn" and meta.get("session_id"):
            try:
                session_id, index = int(meta["session_id"]), int(meta["turn"])
                prompt_start_s = float(meta.get("prompt_start_s") or 0.0)
            except (KeyError, TypeError, ValueError):
                return "audio only", "its sidecar does not say which turn it is"
            stored = f"turn {index} of session {session_id}"
            with store.session() as db:
                session = db.get(PracticeSession, session_id)
                if session is None:
                    return "audio only", f"session {session_id} is not in the database"
                session.status = "recovered"
                session.note = f"recovered after an interruption (turn {index})"
                record = db.get(BaselineRecord, session.baseline_id) if session.baseline_id is not None else None
                baseline = record.to_baseline() if record is not None else None
                db.commit()
            prompt = store.data_dir / meta["prompt"] if meta.get("prompt") else None
            try:
                _analyse_and_store(store, session_id, index, meta.get("customer_text") or "", take.wav, prompt,
                                   prompt_start_s, baseline, None, settings)
            except VoiceRehearseError as exc:  # the turn and its audio are stored; only the analysis failed
                return stored, str(exc)
            return stored, None
    except VoiceRehearseError as exc:
        return "audio only", str(exc)
    return "audio only", "no session recorded in its sidecar"


# --------------------------------------------------------------------------- the session


def run_session(store: Store, scenario: Scenario, trainee: str, options: RehearsalOptions, *, settings,
                view: SessionView = NullView(), stop: threading.Event | None = None,
                baseline: BaselineRecord | None = None) -> SessionOutcome:
    """Play every customer turn, record and analyse each reply, store everything; returns what happened.

    Ctrl-C, a device failure or a full disk during a take end the session early (``stopped``) with the current
    take kept; the session is then "complete" with that note. Any other failure after the session row exists
    (the prompt file, the database) still gives the session a final status — "stopped", with the error as its
    note — and propagates: a VoiceRehearseError as is, a database or disk failure as a StoreError.
    """
    engine_choice = resolve_engine(options, settings)
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
    try:
        _run_turns(store, scenario, trainee_id, trainee, options, settings=settings, view=view, stop=stop,
                   baseline=baseline, engine_choice=engine_choice, outcome=outcome)
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
               settings, view: SessionView, stop: threading.Event | None, baseline: BaselineRecord | None,
               engine_choice, outcome: SessionOutcome) -> None:
    session_id = outcome.session_id
    folder = store.audio_dir(trainee_folder(trainee_id, trainee), f"session-{session_id:05d}")
    reference = baseline.to_baseline() if baseline is not None else None
    sr = options.sample_rate_hz
    for turn in scenario.turns:
        try:
            view.ready(scenario, turn)
        except KeyboardInterrupt:
            outcome.stopped = f"stopped with Ctrl-C before turn {turn.index}"
            break
        if stop is not None:
            stop.clear()
        prompt = prompt_audio(turn.customer, turn.audio, sample_rate=sr, speak=options.speak)
        prompt_wav = folder / f"turn-{turn.index:02d}-customer.wav"
        try:  # kept beside the reply: the analysis, the recovery and the coach's replay use it
            sf.write(str(prompt_wav), prompt.samples, sr, subtype="PCM_16")
        except (OSError, sf.LibsndfileError) as exc:
            raise TakeStorageError(f"cannot write {prompt_wav}: {exc}") from None
        start_frame = int(round(options.lead_in_s * sr))
        source = PromptSource(prompt.samples, start_frame)
        prompt_start_s = start_frame / sr
        meta = {"kind": "turn", "session_id": session_id, "turn": turn.index, "customer_text": turn.customer,
                "prompt": store.relative(prompt_wav), "prompt_start_s": prompt_start_s,
                "prompt_end_s": source.end_frame / sr, "prompt_kind": prompt.kind}
        reply = None
        if options.replies is not None:
            reply = reply_file(options.replies, f"turn-{turn.index}")
            if reply is None:
                view.notice(f"no reply file for turn {turn.index} in {options.replies}: recording the microphone only")
        view.turn_start(scenario, turn, prompt)
        take = _take(folder / f"turn-{turn.index:02d}", meta, options, source, source.end_frame, reply, view, stop,
                     engine_choice, settings)
        ended = time.monotonic()
        try:
            record, analysis = _analyse_and_store(store, session_id, turn.index, turn.customer, take.wav, prompt_wav,
                                                  prompt_start_s + take.output_delay_s, reference, take.transcript,
                                                  settings)
        except VoiceRehearseError as exc:  # e.g. a take cut too short to judge: the turn and its audio are kept
            take.settle()
            view.notice(f"turn {turn.index}: kept {take.wav} but could not analyse it: {exc}")
            outcome.turns.append(TurnOutcome(turn.index, None, take.wav, None))
        except STORE_FAILURES as exc:  # not stored: the sidecar stays, the next start stores the take
            take.release()
            raise _store_failure(f"turn {turn.index} of session {session_id}", exc, take.wav) from exc
        except BaseException:
            take.release()
            raise
        else:
            take.settle()
            view.turn_done(turn, analysis, record, time.monotonic() - ended)
            outcome.turns.append(TurnOutcome(turn.index, record.id, take.wav, analysis.delivery.label, analysis))
        if take.interrupted:
            outcome.stopped = f"stopped with Ctrl-C during turn {turn.index}; the take was kept"
        elif take.error is not None:
            outcome.stopped = f"{take.error}; kept {take.result.duration_s:.1f} s of turn {turn.index} in {take.wav}"
        if outcome.stopped:
            break
