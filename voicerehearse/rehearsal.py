"""Runs a practice session: prompt -> capture -> analyse -> store. Wires the stages; computes nothing itself.

The terminal (or a test) sees the session through a :class:`SessionView`; audio comes from :func:`open_blocks`
— the live duplex stream, optionally with recorded replies mixed in (``--replies``). While a take records, the
words and a provisional verdict are worked out beside it (:mod:`voicerehearse.live`), so the verdict on the whole
take is ready, and timed, from the moment the reply ends.
Every take is written to disk as it is captured (:mod:`voicerehearse.audio.takes`), so a crash, Ctrl-C,
a full disk or a failing device never loses more than the last fraction of a second.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import unicodedata
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
from voicerehearse.audio.devices import DuplexCapture
from voicerehearse.audio.reply_end import ReplyEnd, TakeProgress, TakeResult, mix_in, open_sentence, record_take
from voicerehearse.audio.takes import (
    RecoveredTake, TakeStorageError, TakeWriter, pending_takes, recover_take, unstored_takes,
)
from voicerehearse.audio.io import load_audio
from voicerehearse.audio.playback import PromptAudio, PromptSource, prompt_audio
from voicerehearse.errors import BaselineError, DeviceError, VoiceRehearseError
from voicerehearse.live import LiveWords, ProvisionalVerdict, RecognitionWorker
from voicerehearse.pipeline import analyze_audio, measure_baseline
from voicerehearse.settings import describe
from voicerehearse.coaching import Coaching, coach
from voicerehearse.delivery import trusted_words
from voicerehearse.scenarios import Scenario, ScenarioTurn
from voicerehearse.schema import analysis_record
from voicerehearse.store import BaselineRecord, PracticeSession, Store, StoreError, Turn, get_or_create_trainee
from voicerehearse.types import Analysis, Audio, Transcript

CALIBRATION_PASSAGE = (
    "The library opens at nine in the morning on weekdays. On Saturdays it opens a little later, at ten, "
    "and it closes in the early afternoon. Books can be returned at the front desk or through the slot "
    "beside the main door."
)
REPLY_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
# failures of the database or the disk while storing a take: the take is kept (with its sidecar) for a later run
STORE_FAILURES = (SQLAlchemyError, sqlite3.Error, OSError)
MAX_TAKES = 5  # takes of one turn (the first reply and its retries)
ACTIONS = ("next", "retry", "play")  # what the trainee chooses after the feedback


@dataclass(frozen=True)
class ReplyAt:
    """Where a recorded reply (``--replies``) starts in its take: ``start`` (frame 0, the default: the reply file
    holds its own lead-in, so it is heard over the customer's line unless it starts with enough silence) or
    ``prompt-end`` (when the customer's line ends), plus ``offset_s`` (may be negative: a barge-in on purpose)."""

    anchor: str = "start"  # "start" | "prompt-end"
    offset_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "ReplyAt":
        """``start``, ``start+1.5``, ``prompt-end``, ``prompt-end+0.3``, ``prompt-end-0.5``.

        >>> ReplyAt.parse("prompt-end+0.3"), ReplyAt.parse("start")
        (ReplyAt(anchor='prompt-end', offset_s=0.3), ReplyAt(anchor='start', offset_s=0.0))
        """
        m = re.fullmatch(r"\s*(start|prompt-end)\s*(?:([+-])\s*(\d+(?:\.\d*)?|\.\d+))?\s*", text or "")
        if m is None:
            raise ValueError(f"{text!r} is not start[+S] or prompt-end[+S|-S] (e.g. prompt-end+0.3)")
        offset = float(m.group(3) or 0.0) * (-1 if m.group(2) == "-" else 1)
        if m.group(1) == "start" and offset < 0:
            raise ValueError(f"{text!r}: a reply cannot start before the take does")
        return cls(m.group(1), offset)

    def frame(self, sample_rate: int, prompt_end_frame: int) -> int:
        base = prompt_end_frame if self.anchor == "prompt-end" else 0
        return max(0, base + int(round(self.offset_s * sample_rate)))


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
    reply_at: ReplyAt = ReplyAt()  # where each recorded reply starts in its take
    max_turns: int = 12  # a branching call ends after this many customer lines


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


def reply_file(replies: Path, name: str, take: int = 1) -> Path | None:
    """``DIR/<name>.wav`` (or .flac/.ogg/.mp3); turn names are ``turn-1`` / ``1`` (zero padding allowed).
    A retry's reply is ``turn-1-take-2.wav``: when it exists, a scripted session retries the turn with it."""
    candidates = [name] if take == 1 else []
    m = re.fullmatch(r"turn-(\d+)", name)
    if m:
        n = int(m.group(1))
        stems = [f"turn-{n}", f"turn-{n:02d}", f"turn{n}", f"{n}", f"{n:02d}"]
        candidates += stems[1:] if take == 1 else [f"{stem}-take-{take}" for stem in stems]
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

    def captured_at(self, frame: int) -> float | None:
        """When the block holding frame ``frame - 1`` was captured (time.monotonic); None without a device."""
        return self.device.captured_at(frame) if self.device is not None else None


@contextmanager
def open_blocks(options: RehearsalOptions, prompt: PromptSource | None, reply: Path | None) -> Iterator[InputFeed]:
    """The mic as blocks, with the prompt playing on the same stream; ``reply`` (a recording) is mixed in from
    ``options.reply_at``."""
    with DuplexCapture(sample_rate=options.sample_rate_hz, input_device=options.input_device,
                       output_device=options.output_device, prompt=prompt, output=prompt is not None,
                       blocksize=options.blocksize) as capture:
        blocks = capture.blocks()
        if reply is not None:
            samples = load_audio(reply).samples
            if options.sample_rate_hz != 16000:
                from voicerehearse.audio.io import resample

                samples = resample(samples, orig_sr=16000, target_sr=options.sample_rate_hz)
            at = options.reply_at.frame(options.sample_rate_hz, prompt.end_frame if prompt is not None else 0)
            blocks = mix_in(blocks, samples, at)
        yield InputFeed(blocks, capture)


def play_back(wav: Path, options: RehearsalOptions) -> None:
    """Play a stored take on the output device (the same duplex stream as the prompts; the mic is ignored)."""
    samples = load_audio(wav).samples
    if options.sample_rate_hz != 16000:
        from voicerehearse.audio.io import resample

        samples = resample(samples, orig_sr=16000, target_sr=options.sample_rate_hz)
    source = PromptSource(samples, 0)
    with DuplexCapture(sample_rate=options.sample_rate_hz, input_device=options.input_device,
                       output_device=options.output_device, prompt=source, blocksize=options.blocksize) as capture:
        frames = 0
        for block in capture.blocks():
            frames += block.shape[0]
            if frames >= source.end_frame + options.blocksize:
                break


def resolve_engine(options: RehearsalOptions, settings, *, load: bool = True):
    """The recogniser for live transcription, or None when recognition is off (acoustic only).

    "auto" without a Vosk model gives the PocketSphinx fallback, whose transcripts say they are rough.
    ``load``: load it in this process now, before the first take rather than during it (a session loads it in
    its recognition process instead: :func:`start_recognition`).
    """
    if options.engine == "none":
        return None
    from voicerehearse.transcribe.engine import choose_engine

    choice = choose_engine(options.engine, options.model, settings=settings)
    if load:
        from voicerehearse.transcribe.engine import preload

        preload(choice)  # Vosk or PocketSphinx: once per process
    return choice


def start_recognition(choice, options: RehearsalOptions) -> RecognitionWorker | None:
    """The session's recognition process, its engine loaded (None when recognition is off)."""
    if choice is None:
        return None
    worker = RecognitionWorker(choice, level_dbfs_min=options.reply_end.speech_level_dbfs,
                               end_silence_s=options.reply_end.end_silence_s)
    try:
        worker.wait_ready()
    except BaseException:
        worker.close()
        raise
    return worker


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
    ended_at: float = 0.0  # time.monotonic() when the take's last block was captured: the reply's end

    def settle(self) -> None:
        """Stored (as far as it can be): drop the sidecar, so recovery never stores it again."""
        self.writer.settle()

    def release(self) -> None:
        """Not stored: keep the sidecar, so the next start stores it."""
        self.writer.close()


@dataclass(frozen=True)
class LiveInputs:
    """What the provisional verdict of a take needs besides its audio (the final one reads the stored files)."""

    settings: object
    baseline: object = None  # the trainee's Baseline, if any
    prompt: np.ndarray | None = None  # the customer's line, float at the capture rate
    prompt_start_s: float = 0.0

    def analyse(self, samples: np.ndarray, sample_rate: int, transcript: Transcript | None) -> Analysis:
        """The take so far (int16) analysed as the stored take will be (without the file's DC correction)."""
        y = samples.astype(np.float32) / 32768.0
        rate = self.settings.analysis_sample_rate_hz
        if sample_rate != rate:
            from voicerehearse.audio.io import resample

            y = resample(y, orig_sr=sample_rate, target_sr=rate)
        audio = Audio(y, rate, sample_rate, 1, None)
        prompt = None
        if self.prompt is not None:
            p = self.prompt if sample_rate == rate else resample(self.prompt, orig_sr=sample_rate, target_sr=rate)
            heard = max(0, y.shape[0] - int(round(self.prompt_start_s * rate)))
            prompt = Audio(p[:heard], rate, sample_rate, 1, None) if heard > 0 else None
        return analyze_audio(audio, settings=self.settings, baseline=self.baseline, transcript=transcript,
                             prompt=prompt, prompt_start_s=self.prompt_start_s if prompt is not None else 0.0)


def _take(stem: Path, meta: dict, options: RehearsalOptions, prompt: PromptSource | None, prompt_end_frame: int,
          reply: Path | None, view: SessionView, stop: threading.Event | None, recognition: RecognitionWorker | None,
          live: LiveInputs) -> Take:
    """Record one take to ``stem`` (crash-safe) and finalise it; errors end the take but keep the audio.

    The loop that reads the blocks only hands them on: to the recognition process (through a queue) and to the
    provisional verdict's thread, so it keeps pace with the device whatever they cost.
    """
    sr = options.sample_rate_hz
    writer = TakeWriter(stem, sample_rate=sr, meta=meta)
    words: LiveWords | None = recognition.start_take(sr) if recognition is not None else None
    provisional = ProvisionalVerdict(lambda y, t: live.analyse(y, sr, t), sample_rate=sr,
                                     from_frame=0 if options.headset else prompt_end_frame)
    result = TakeResult(0, sr, "error", False)
    error: VoiceRehearseError | None = None
    interrupted = False
    last_block_at = [time.monotonic()]

    # with speakers the mic hears the customer: the recogniser gets silence until the line (and its echo) is over,
    # so the customer's words never count as the trainee's (word times stay aligned with the take)
    words_from = 0 if options.headset else prompt_end_frame + int(options.reply_end.bleed_tail_s * sr)

    def sentence_open() -> bool:  # the live words so far stop mid-sentence ("... and", "um")
        partial = words.partial if words is not None else None
        return partial is not None and open_sentence(partial.text)

    def on_block(block, progress):
        last_block_at[0] = time.monotonic()
        partial = None
        if words is not None:
            words.feed(block if progress.frame > words_from else np.zeros_like(block))
            partial = words.partial
        provisional.feed(block, ends_in_s=progress.ends_in_s, words=partial)
        view.progress(progress, partial, provisional.latest)

    delay = 0.0
    ended_at = None
    try:
        with open_blocks(options, prompt, reply) as feed:
            try:
                result = record_take(feed.blocks, writer, sample_rate=sr, prompt_end_frame=prompt_end_frame,
                                     end=options.reply_end, headset=options.headset, stop=stop, on_block=on_block,
                                     sentence_open=sentence_open)
            finally:
                provisional.stop()
                delay = feed.output_delay_s
                ended_at = feed.captured_at(writer.frames)
                if feed.problems:
                    view.notice(f"the audio device reported {len(feed.problems)} problem(s) during the take "
                                f"({feed.problems[0]}); some audio may be missing")
    except KeyboardInterrupt:
        interrupted = True
    except (DeviceError, TakeStorageError) as exc:
        error = exc
    if interrupted or error is not None:
        result = TakeResult(writer.frames, sr, "stopped", False)
    view.take_end(result)
    try:  # the sidecar stays until the caller has stored the take (Take.settle); meanwhile the words catch up
        wav, _ = writer.finalise(keep_sidecar=True)
    except TakeStorageError as exc:  # the .part stays on disk and is recovered at the next start
        writer.close()
        raise TakeStorageError(f"{error or exc}; the take is kept in {writer.part} and will be recovered "
                               "at the next start") from None
    transcript = words.finish() if words is not None else None
    if words is not None and words.error is not None:
        view.notice(f"{words.error}; judging this reply from the audio only")
    return Take(wav, result, transcript, error, interrupted, delay, writer,
                ended_at if ended_at is not None else last_block_at[0])


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
    take = _take(stem, {"kind": "baseline", "trainee": trainee}, calib, None, 0, reply, view, stop, None,
                 LiveInputs(settings))
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


def check_calibration(wav: Path, settings) -> None:
    """Is the read usable as a baseline? Enough speech, loud enough, far enough above the room's noise; else a
    BaselineError that says what to do ("we didn't hear you — check the microphone")."""
    audio = load_audio(wav, settings=settings)
    framed = framed_from_settings(audio.samples, audio.sample_rate, settings)
    activity = speech_activity(framed, settings)
    if not activity.has_speech or activity.speaking_time_s < settings.calibration_min_speech_s:
        heard = f" (heard {activity.speaking_time_s:.1f} s of speech)" if activity.has_speech else ""
        raise BaselineError(f"we didn't hear you{heard} — check the microphone is on and not muted, then read the "
                            "whole passage again")
    db = framed.db
    active = np.zeros(db.shape[0], bool)
    for seg in activity.segments:
        active[framed.frame_of(seg.start):framed.frame_of(seg.end) + 1] = True
    level = float(10 * np.log10(np.mean(framed.power[active])))
    floor = float(np.percentile(db, 5))
    if level < settings.calibration_min_level_dbfs:
        raise BaselineError(f"your read is too quiet ({level:.0f} dBFS, needs {settings.calibration_min_level_dbfs:g}): "
                            "move closer to the microphone or raise its gain, then read again")
    if level - floor < settings.calibration_min_snr_db:
        raise BaselineError(f"the room is too noisy: your voice is only {level - floor:.0f} dB above the background "
                            f"(needs {settings.calibration_min_snr_db:g}); find a quieter spot or use a headset, then "
                            "read again")


def _store_baseline(store: Store, trainee: str, wav: Path, settings, *, check: bool = True) -> BaselineRecord:
    if check:
        check_calibration(wav, settings)
    baseline = measure_baseline(wav, settings)
    with store.session() as db:
        t = get_or_create_trainee(db, trainee)
        record = BaselineRecord(trainee_id=t.id, audio_path=store.relative(wav),
                                measures=BaselineRecord.measures_of(baseline))
        db.add(record)
        db.commit()
        return record


# --------------------------------------------------------------------------- analysis + store of one turn


def _analyse_and_store(store: Store, session_id: int, number: int, customer_text: str, wav: Path, prompt_wav: Path | None,
                       prompt_start_s: float, baseline, transcript: Transcript | None, settings, *, take: int = 1,
                       practice: dict | None = None) -> tuple[Turn, Analysis]:
    """Analyse the take, then store its recording as a turn row (``index = number - 1``; each take of a turn is
    its own row, its take number in the analysis record's ``practice`` object) with the analysis, in one
    transaction. When the analysis fails (e.g. a take cut too short to judge) the turn is still stored with its
    audio and the error propagates."""
    audio_path = store.relative(wav)
    failure: VoiceRehearseError | None = None
    analysis = record = None
    try:  # first the analysis, then one transaction: a commit is a disk sync the verdict would wait for twice
        audio = load_audio(wav, settings=settings)
        audio = replace(audio, path=audio_path)
        prompt = load_audio(prompt_wav, settings=settings) if prompt_wav is not None and prompt_wav.is_file() else None
        if prompt is not None:  # a take stopped early (Ctrl-C, device) cut the customer's line short too
            heard = max(0, audio.samples.shape[-1] - int(round(prompt_start_s * prompt.sample_rate)))
            prompt = replace(prompt, samples=prompt.samples[:heard]) if heard > 0 else None
        analysis = analyze_audio(audio, settings=settings, baseline=baseline, transcript=transcript, prompt=prompt,
                                 prompt_start_s=prompt_start_s)
        record = analysis_record(analysis)
        record["practice"] = {"turn": number, "take": take, **(practice or {})}
    except VoiceRehearseError as exc:
        failure = exc
    with store.session() as db:
        turn = db.scalar(select(Turn).where(Turn.session_id == session_id, Turn.index == number - 1,
                                            Turn.audio_path == audio_path))
        if turn is None:
            turn = Turn(session_id=session_id, index=number - 1)
            db.add(turn)
        turn.customer_text = customer_text
        turn.audio_path = audio_path
        turn.prompt_start_s = prompt_start_s if prompt_wav is not None else None
        if record is not None:
            turn.set_analysis(record)
        db.commit()
        if failure is not None:
            raise failure
        return turn, analysis


def _set_call_outcome(store: Store, turn_id: int, outcome: str) -> None:
    """How the call ended, kept in the last turn's record (``practice.outcome``)."""
    with store.session() as db:
        turn = db.get(Turn, turn_id)
        record = dict(turn.analysis or {})
        record["practice"] = {**(record.get("practice") or {}), "outcome": outcome}
        turn.analysis = record
        db.commit()


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
            _store_baseline(store, meta["trainee"], take.wav, settings, check=False)
            return f"baseline of {meta['trainee']}", None
        if meta.get("kind") == "turn" and meta.get("session_id"):
            try:
                session_id, index = int(meta["session_id"]), int(meta["turn"])
                take_no = int(meta.get("take") or 1)
                prompt_start_s = float(meta.get("prompt_start_s") or 0.0)
            except (KeyError, TypeError, ValueError):
                return "audio only", "its sidecar does not say which turn it is"
            stored = f"turn {index} of session {session_id}" + (f" (take {take_no})" if take_no > 1 else "")
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
                                   prompt_start_s, baseline, None, settings, take=take_no,
                                   practice={"recovered": True})
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


def _heard(analysis: Analysis | None, take: "Take") -> set[str]:
    """What the customer reacts to: the verdict, the cue categories (from trusted words) and events."""
    heard = set()
    if take.result.reason == "no reply" or not take.result.reply_heard:
        heard.add("silence")
    if analysis is not None:
        heard.add(analysis.delivery.label)
        if trusted_words(analysis.transcript):
            heard |= {c.category for c in analysis.cues}
        if analysis.turn is not None and analysis.turn.interrupted:
            heard.add("interrupted")
    return heard


def _run_turns(store: Store, scenario: Scenario, trainee_id: int, trainee: str, options: RehearsalOptions, *,
               settings, view: SessionView, stop: threading.Event | None, baseline: BaselineRecord | None,
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


def _one_take(store: Store, scenario: Scenario, step: Step, options: RehearsalOptions, folder: Path, prompt_wav: Path,
              reference, *, settings, view: SessionView, stop: threading.Event | None,
              recognition: RecognitionWorker | None,
              outcome: SessionOutcome) -> tuple["Take", Analysis | None, int | None] | None:
    """Play the customer's line and record, analyse, store and coach one reply. None when the session stops."""
    session_id, number, turn = outcome.session_id, step.number, step.turn
    sr = options.sample_rate_hz
    try:
        view.ready(scenario, step)
    except KeyboardInterrupt:
        outcome.stopped = f"stopped with Ctrl-C before turn {number}"
        return None
    if stop is not None:
        stop.clear()
    prompt = prompt_audio(turn.customer, turn.audio, sample_rate=sr, speak=options.speak)
    try:  # kept beside the reply: the analysis, the recovery and the coach's replay use it
        sf.write(str(prompt_wav), prompt.samples, sr, subtype="PCM_16")
    except (OSError, sf.LibsndfileError) as exc:
        raise TakeStorageError(f"cannot write {prompt_wav}: {exc}") from None
    start_frame = int(round(options.lead_in_s * sr))
    source = PromptSource(prompt.samples, start_frame)
    prompt_start_s = start_frame / sr
    meta = {"kind": "turn", "session_id": session_id, "turn": number, "take": step.take,
            "scenario_turn": turn.id, "customer_text": turn.customer,
            "prompt": store.relative(prompt_wav), "prompt_start_s": prompt_start_s,
            "prompt_end_s": source.end_frame / sr, "prompt_kind": prompt.kind}
    reply = None
    if options.replies is not None:
        reply = reply_file(options.replies, f"turn-{number}", step.take)
        if reply is None:
            view.notice(f"no reply file for turn {number} in {options.replies}: recording the microphone only")
    take_options = options
    if turn.timeout_s is not None:
        take_options = replace(options, reply_end=replace(options.reply_end, no_reply_s=turn.timeout_s))
    view.turn_start(scenario, step, prompt)
    stem = folder / (f"turn-{number:02d}" + (f"-take{step.take}" if step.take > 1 else ""))
    live = LiveInputs(settings, reference, prompt.samples, prompt_start_s)
    take = _take(stem, meta, take_options, source, source.end_frame, reply, view, stop, recognition, live)
    analysis = turn_id = None
    try:
        record, analysis = _analyse_and_store(store, session_id, number, turn.customer, take.wav, prompt_wav,
                                              prompt_start_s + take.output_delay_s, reference, take.transcript,
                                              settings, take=step.take, practice={"scenario_turn": turn.id})
    except VoiceRehearseError as exc:  # e.g. a take cut too short to judge: the turn and its audio are kept
        take.settle()
        view.notice(f"turn {number}: kept {take.wav} but could not analyse it: {exc}")
        outcome.turns.append(TurnOutcome(number, None, take.wav, None, take=step.take))
    except STORE_FAILURES as exc:  # not stored: the sidecar stays, the next start stores the take
        take.release()
        raise _store_failure(f"turn {number} of session {session_id}", exc, take.wav) from exc
    except BaseException:
        take.release()
        raise
    else:
        take.settle()
        coaching = coach(analysis, turn)
        turn_id = record.id
        view.turn_done(step, analysis, record, time.monotonic() - take.ended_at, coaching)
        outcome.turns.append(TurnOutcome(number, record.id, take.wav, analysis.delivery.label, analysis,
                                         take=step.take, coaching=coaching))
    if take.interrupted:
        outcome.stopped = f"stopped with Ctrl-C during turn {number}; the take was kept"
    elif take.error is not None:
        outcome.stopped = f"{take.error}; kept {take.result.duration_s:.1f} s of turn {number} in {take.wav}"
    if outcome.stopped:
        return None
    return take, analysis, turn_id
