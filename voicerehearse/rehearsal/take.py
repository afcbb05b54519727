"""One take of one turn: the customer's line is played and the reply recorded crash-safely
(:mod:`voicerehearse.audio.takes`) while its words and a provisional verdict are worked out beside it
(:mod:`voicerehearse.live`); then the take is analysed, stored as a turn row and coached. Also what the customer
reacts to in a reply (:func:`_heard`) and where the call's outcome is kept (:func:`_set_call_outcome`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from sqlalchemy import select

from voicerehearse.audio.io import load_audio
from voicerehearse.audio.playback import PromptSource, prompt_audio
from voicerehearse.audio.reply_end import TakeResult, open_sentence, record_take
from voicerehearse.audio.takes import TakeStorageError, TakeWriter
from voicerehearse.coaching import coach
from voicerehearse.delivery import trusted_words
from voicerehearse.derived import ContourSpec, store_derived
from voicerehearse.errors import DeviceError, VoiceRehearseError
from voicerehearse.live import LiveWords, ProvisionalVerdict, RecognitionWorker
from voicerehearse.pipeline import analyze_audio
from voicerehearse.rehearsal.inputs import open_blocks, reply_file
from voicerehearse.rehearsal.options import RehearsalOptions
from voicerehearse.rehearsal.storage import STORE_FAILURES, _store_failure
from voicerehearse.rehearsal.view import SessionOutcome, SessionView, Step, TurnOutcome
from voicerehearse.scenarios import Scenario
from voicerehearse.schema import analysis_record
from voicerehearse.settings import Settings
from voicerehearse.store import Store, Turn
from voicerehearse.types import Analysis, Audio, Baseline, Transcript


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

    settings: Settings
    baseline: Baseline | None = None  # the trainee's, if any
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


def _one_take(store: Store, scenario: Scenario, step: Step, options: RehearsalOptions, folder: Path, prompt_wav: Path,
              reference: Baseline | None, *, settings: Settings, view: SessionView, stop: threading.Event | None,
              recognition: RecognitionWorker | None,
              outcome: SessionOutcome) -> tuple[Take, Analysis | None, int | None] | None:
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


def _analyse_and_store(store: Store, session_id: int, number: int, customer_text: str, wav: Path, prompt_wav: Path | None,
                       prompt_start_s: float, baseline: Baseline | None, transcript: Transcript | None,
                       settings: Settings, *, take: int = 1,
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
        _derive_later(wav, ContourSpec.of_record(record), settings)  # what the replay draws, after the verdict
        if failure is not None:
            raise failure
        return turn, analysis


_DERIVING: list[threading.Thread] = []  # derived files being written beside this process's takes


def _derive_later(wav: Path, spec, settings: Settings) -> None:
    """Write the take's derived file (waveform, contours) in a thread, so the verdict is not kept waiting for it
    (about 0.1 s a 10 s take); :func:`wait_derived` before the process ends. A file never written is computed by
    the web on first view instead; :func:`store_derived` never raises."""
    thread = threading.Thread(target=store_derived, args=(wav, spec), kwargs={"settings": settings},
                              name=f"derived {wav.name}", daemon=True)
    thread.start()
    _DERIVING.append(thread)


def wait_derived(timeout_s: float = 60.0) -> None:
    """Until the derived files of the takes stored so far are written (the end of a session or a recovery)."""
    while _DERIVING:
        _DERIVING.pop().join(timeout_s)


def _heard(analysis: Analysis | None, take: Take) -> set[str]:
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


def _set_call_outcome(store: Store, turn_id: int, outcome: str) -> None:
    """How the call ended, kept in the last turn's record (``practice.outcome``)."""
    with store.session() as db:
        turn = db.get(Turn, turn_id)
        record = dict(turn.analysis or {})
        record["practice"] = {**(record.get("practice") or {}), "outcome": outcome}
        turn.analysis = record
        db.commit()
