"""Work done beside a live take, so the verdict is ready when the reply ends: the recogniser in its own process,
a provisional verdict in a thread. Neither runs in the audio callback nor in the loop that reads the blocks.

* :class:`RecognitionWorker` runs the engine (transcribe.engine) in a child process for a whole session, fed
  block by block through a queue and a pipe. A process, not a thread: PocketSphinx holds the interpreter for the
  whole of a decode (a 4 s utterance held it 5.6 s on a loaded machine), which would starve the audio callback.
  Vosk streams: every chunk is decoded as it arrives, so at the end of a reply only its last chunk is left.
  PocketSphinx decodes spans whole (its best accuracy), so the take is cut into utterances at pauses
  (:data:`CUT_PAUSE_S` of quiet blocks), or between words when an utterance grows too long to be decoded within
  the end-of-reply silence, and each one is decoded as soon as it is over: when the reply ends — after that
  silence — its last utterance has been decoded too.
* :class:`ProvisionalVerdict` re-analyses the take so far about once a second (at most a third of a core),
  for the live display; the stored verdict is always computed on the whole take.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import numpy as np

from voicerehearse.audio.pcm import as_int16, level_dbfs
from voicerehearse.errors import EngineError, VoiceRehearseError
from voicerehearse.types import Analysis, Transcript, Word

CUT_PAUSE_S = 0.25  # PocketSphinx: an utterance is over (and decoded) after this much quiet (METRICS: a pause)
LEAD_S = 0.3  # quiet kept before an utterance (word onsets below the level threshold are not cut off)
MAX_UTTERANCE_S = 12.0  # an utterance longer than this is cut at its next dip between words...
MIN_UTTERANCE_S = 1.5  # ...or, on a slow machine, one longer than this (see transcribe_utterances)
READY_TIMEOUT_S = 60.0  # the worker process must have loaded its engine by then (Vosk models take seconds)


def utterances(blocks: Iterable[np.ndarray], *, sample_rate: int, level_dbfs_min: float,
               cut_pause_s: float = CUT_PAUSE_S, lead_s: float = LEAD_S,
               max_s: float | Callable[[], float] = MAX_UTTERANCE_S) -> Iterator[tuple[int, Iterator[np.ndarray]]]:
    """Cut a stream of blocks into utterances, lazily: yields ``(start_frame, blocks)`` where ``blocks`` is a
    generator that ends ``cut_pause_s`` of quiet after the utterance's last loud block (consume it before asking
    for the next utterance). Quiet stretches between utterances are dropped except the last ``lead_s`` before
    each one; frames count the whole stream, so ``start_frame`` places the utterance in the take.
    An utterance longer than ``max_s`` (a number, or asked again for every utterance) ends at its next dip: a block
    no louder than any of the ten before it (between words), at the latest at 1.5 x ``max_s``.

    >>> quiet, loud = np.zeros(800, np.int16), np.full(800, 3000, np.int16)
    >>> stream = [quiet] * 10 + [loud] * 4 + [quiet] * 10 + [loud] * 2 + [quiet] * 2
    >>> [(start, len(list(b))) for start, b in utterances(stream, sample_rate=16000, level_dbfs_min=-42)]
    [(4000, 14), (15200, 9)]
    >>> dips = [np.full(800, 3000 if i % 4 else 1000, np.int16) for i in range(60)]  # 3 s, a dip every 0.2 s
    >>> [(start, len(list(b))) for start, b in utterances(dips, sample_rate=16000, level_dbfs_min=-42, max_s=1.0)]
    [(0, 21), (16800, 20), (32800, 19)]
    """
    it = iter(blocks)
    frame, cut = 0, int(cut_pause_s * sample_rate)
    ended = False
    lead: deque[np.ndarray] = deque()
    while not ended:
        lead_frames = 0
        lead.clear()
        for block in it:  # quiet until the next loud block; keep only the last lead_s of it
            block = as_int16(block)
            lead.append(block)
            lead_frames += block.shape[0]
            frame += block.shape[0]
            while lead_frames - lead[0].shape[0] >= lead_s * sample_rate and len(lead) > 1:
                lead_frames -= lead.popleft().shape[0]
            if level_dbfs(block) >= level_dbfs_min:
                break
        else:
            return
        start = frame - lead_frames
        longest = int((max_s() if callable(max_s) else max_s) * sample_rate)
        state = {"ended": True}

        def utterance(start=start, longest=longest, state=state):
            nonlocal frame
            yield from list(lead)
            quiet = 0
            recent: deque[float] = deque(maxlen=10)
            for block in it:
                block = as_int16(block)
                frame += block.shape[0]
                yield block
                level = level_dbfs(block)
                quiet = 0 if level >= level_dbfs_min else quiet + block.shape[0]
                long = frame - start >= longest
                dip = bool(recent) and level <= min(recent)
                recent.append(level)
                if quiet >= cut or (long and (quiet or dip)) or frame - start >= 1.5 * longest:
                    state["ended"] = False
                    return

        yield start, utterance()
        ended = state["ended"]


def _shift(words: Iterable[Word], offset_s: float) -> tuple[Word, ...]:
    return tuple(replace(w, start=round(w.start + offset_s, 3), end=round(w.end + offset_s, 3))
                 if w.start is not None and w.end is not None else w for w in words)


def _joined(template: Transcript, words: tuple[Word, ...]) -> Transcript:
    return replace(template, text=" ".join(w.word for w in words), words=words)


# --------------------------------------------------------------------------- the worker process


def transcribe_utterances(blocks: Iterable[np.ndarray], *, choice, sample_rate: int, level_dbfs_min: float,
                          template: Transcript, cut_pause_s: float = CUT_PAUSE_S, budget_s: float | None = None,
                          max_s: float | None = None, pace: dict | None = None,
                          on_words: Callable[[Transcript], None] | None = None) -> Transcript:
    """Transcribe a take utterance by utterance (:func:`utterances`), each decoded whole as soon as it is over.

    The last utterance of a reply is decoded while the end-of-reply silence runs, so utterances are kept short
    enough to be decoded within ``budget_s``: their longest is ``budget_s`` / the decode time per second of audio
    measured so far (kept in ``pace["rtf"]`` across calls; 0.6 until the first; no limit but
    :data:`MAX_UTTERANCE_S` when decoding is slower than real time, where cutting cannot help), within :data:`MIN_UTTERANCE_S` .. :data:`MAX_UTTERANCE_S`;
    ``max_s`` fixes it instead. ``on_words`` gets the transcript so far after each utterance.
    """
    from voicerehearse.transcribe.engine import transcribe_blocks

    pace = pace if pace is not None else {}
    pace.setdefault("rtf", 0.6)

    def longest() -> float:
        if max_s is not None:
            return max_s
        if budget_s is None or pace["rtf"] >= 1.0:  # slower than real time: the words fall behind whatever the
            return MAX_UTTERANCE_S  # cut, and shorter utterances only cost accuracy
        return min(MAX_UTTERANCE_S, max(MIN_UTTERANCE_S, budget_s / pace["rtf"]))

    words: tuple[Word, ...] = ()
    for start, utterance in utterances(blocks, sample_rate=sample_rate, level_dbfs_min=level_dbfs_min,
                                       cut_pause_s=cut_pause_s, max_s=longest):
        heard = {"frames": 0, "at": 0.0}

        def timed(utterance=utterance, heard=heard):  # when the utterance's last block arrived
            for block in utterance:
                heard["frames"] += block.shape[0]
                yield block
            heard["at"] = time.perf_counter()

        said = transcribe_blocks(timed(), sample_rate=sample_rate, engine=choice)
        if heard["frames"]:
            took = (time.perf_counter() - heard["at"]) / (heard["frames"] / sample_rate)
            pace["rtf"] = 0.5 * pace["rtf"] + 0.5 * max(0.05, took)
        words += _shift(said.words, start / sample_rate)
        if on_words is not None:
            on_words(_joined(template, words))
    return _joined(template, words)


def _serve(inbox, outbox, choice, cut_pause_s: float | None, level_dbfs_min: float, budget_s: float) -> None:
    """The child process: load the engine, then transcribe takes ("take", rate) ... ("end",) until ("quit",) or
    until the parent goes away (its end of the pipe closes)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent handles it
    try:
        _serve_takes(inbox, outbox, choice, cut_pause_s, level_dbfs_min, budget_s)
    except (EOFError, OSError):  # the parent is gone
        pass


def _serve_takes(inbox, outbox, choice, cut_pause_s: float | None, level_dbfs_min: float, budget_s: float) -> None:
    from voicerehearse.transcribe.engine import preload, transcribe_blocks

    try:
        preload(choice)
        template = transcribe_blocks([np.zeros(160, np.int16)], sample_rate=16000, engine=choice)
    except VoiceRehearseError as exc:
        outbox.send(("ready", exc))
        return
    outbox.send(("ready", None))
    pace: dict = {}  # PocketSphinx's decode time per second of audio on this machine, as measured
    while True:
        message = inbox.recv()
        if message[0] == "quit":
            return
        if message[0] != "take":
            continue
        sample_rate = message[1]

        def incoming():
            while True:
                try:
                    msg = inbox.recv()
                except EOFError:  # the parent is gone: this take is over
                    return
                if msg[0] != "block":
                    return
                yield msg[1]

        blocks = incoming()
        try:
            if cut_pause_s is None:  # a streaming engine: one recogniser for the whole take
                last = [""]

                def on_partial(t: Transcript) -> None:
                    if t.text != last[0]:
                        last[0] = t.text
                        outbox.send(("partial", t))

                result = transcribe_blocks(blocks, sample_rate=sample_rate, engine=choice, on_partial=on_partial)
            else:
                result = transcribe_utterances(blocks, choice=choice, sample_rate=sample_rate,
                                               level_dbfs_min=level_dbfs_min, cut_pause_s=cut_pause_s,
                                               budget_s=budget_s, template=template, pace=pace,
                                               on_words=lambda t: outbox.send(("partial", t)))
            outbox.send(("final", result, None))
        except VoiceRehearseError as exc:
            outbox.send(("final", None, exc))
        except Exception as exc:  # a recogniser crash must not end the session
            outbox.send(("final", None, EngineError(f"live recognition failed: {exc!r}")))
        for _ in blocks:  # after an error: read the rest of the take, so the next one starts in step
            pass


class LiveWords:
    """One take's recognition: :meth:`feed` never blocks; :attr:`partial` is the transcript so far."""

    def __init__(self, worker: "RecognitionWorker"):
        self._worker = worker
        self.partial: Transcript | None = None
        self.result: Transcript | None = None
        self.error: VoiceRehearseError | None = None
        self.done = threading.Event()
        self._closed = False

    def feed(self, block: np.ndarray) -> None:
        if not self._closed:
            self._worker._send(("block", block))

    def finish(self, timeout_s: float = 30.0) -> Transcript | None:
        """The transcript of the whole take, once the worker has caught up (None with :attr:`error` set)."""
        if not self._closed:
            self._closed = True
            self._worker._send(("end",))
        if not self.done.wait(timeout_s):
            self.error = EngineError(f"live recognition did not finish within {timeout_s:g} s")
            self._worker._broken(self.error)
        return self.result


class RecognitionWorker:
    """The recogniser of a session in a child process (started once, engine loaded once); one take at a time."""

    def __init__(self, choice, *, level_dbfs_min: float, end_silence_s: float, cut_pause_s: float | None = None):
        if cut_pause_s is None and choice.engine != "vosk":
            cut_pause_s = CUT_PAUSE_S  # PocketSphinx decodes spans whole: cut the take into utterances
        ctx = multiprocessing.get_context("spawn")  # not fork: the parent runs audio and database threads
        to_child, self._inbox = ctx.Pipe(duplex=False)
        self._from_child, to_parent = ctx.Pipe(duplex=False)
        budget_s = end_silence_s - (cut_pause_s or 0.0)  # the time the last utterance has to be decoded in
        self._process = ctx.Process(target=_serve, args=(to_child, to_parent, choice, cut_pause_s, level_dbfs_min,
                                                         budget_s),
                                    name="voicerehearse-recognition", daemon=True)
        self._process.start()
        to_child.close()
        to_parent.close()
        self._queue: queue.Queue = queue.Queue()
        self._take: LiveWords | None = None
        self._ready = threading.Event()
        self.error: VoiceRehearseError | None = None
        threading.Thread(target=self._sender, name="recognition-send", daemon=True).start()
        threading.Thread(target=self._receiver, name="recognition-receive", daemon=True).start()

    def _send(self, message) -> None:
        self._queue.put(message)

    def _sender(self) -> None:
        try:
            while (message := self._queue.get()) is not None:
                self._inbox.send(message)
        except (OSError, ValueError):  # the child is gone; the receiver reports it
            pass
        finally:
            self._inbox.close()  # the child sees the end of its input

    def _receiver(self) -> None:
        while True:
            try:
                message = self._from_child.recv()
            except (EOFError, OSError):
                self._broken(EngineError("the recognition process stopped"))
                return
            kind = message[0]
            if kind == "ready":
                self.error = message[1]
                self._ready.set()
            elif kind == "partial" and self._take is not None:
                self._take.partial = message[1]
            elif kind == "final" and self._take is not None:
                self._take.result, self._take.error = message[1], message[2]
                self._take.done.set()

    def _broken(self, error: VoiceRehearseError) -> None:
        self.error = self.error or error
        self._ready.set()
        if self._take is not None and not self._take.done.is_set():
            self._take.error = self._take.error or error
            self._take.done.set()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until the engine is loaded in the child; raise its error (e.g. a broken model) if it failed."""
        if not self._ready.wait(timeout_s):
            raise EngineError(f"the recogniser did not load within {timeout_s:g} s")
        if self.error is not None:
            raise self.error

    def start_take(self, sample_rate: int) -> LiveWords:
        take = LiveWords(self)
        if self.error is not None:
            take.error, take._closed = self.error, True
            take.done.set()
            return take
        if self._take is not None and not self._take.done.is_set():
            self._take.finish()
        self._take = take
        self._send(("take", sample_rate))
        return take

    def close(self) -> None:
        self._send(("quit",))
        self._send(None)
        self._process.join(2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)


# --------------------------------------------------------------------------- the provisional verdict


class ProvisionalVerdict:
    """The take so far re-analysed in a thread about once per ``every_s`` of audio, for the live display.

    ``analyse(samples, transcript)`` gets the int16 samples of the take so far and the timed words so far and
    returns an :class:`Analysis` (or raises a VoiceRehearseError: too short yet). A run never starts when the reply
    may end within ``quiet_before_end_s`` (so it does not compete with the final analysis), and runs are spaced
    by three times their own cost, so a long take never takes more than a third of a core.
    """

    def __init__(self, analyse: Callable[[np.ndarray, Transcript | None], Analysis], *, sample_rate: int,
                 every_s: float = 1.0, from_frame: int = 0, quiet_before_end_s: float = 0.5):
        self.latest: Analysis | None = None
        self.runs = 0
        self._analyse = analyse
        self._sr = sample_rate
        self._every = int(every_s * sample_rate)
        self._from = from_frame
        self._quiet = quiet_before_end_s
        self._blocks: list[np.ndarray] = []
        self._frames = self._done_at = 0
        self._cost_s = 0.0
        self._words: Transcript | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="provisional-verdict", daemon=True)
        self._thread.start()

    def feed(self, block: np.ndarray, *, ends_in_s: float | None, words: Transcript | None) -> None:
        """After every block (cheap: an append and a flag)."""
        self._blocks.append(block)
        self._frames += block.shape[0]
        self._words = words
        due = max(self._every, int(3 * self._cost_s * self._sr))
        ending = ends_in_s is not None and ends_in_s < self._quiet + self._cost_s
        if self._frames > self._from and self._frames - self._done_at >= due and not ending:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            blocks, words = list(self._blocks), self._words
            self._done_at = sum(b.shape[0] for b in blocks)
            began = time.perf_counter()
            try:
                self.latest = self._analyse(np.concatenate(blocks), _timed(words))
                self.runs += 1
            except VoiceRehearseError:
                pass
            except Exception:  # the live display must never end a take; the final analysis reports real errors
                pass
            self._cost_s = time.perf_counter() - began

    def stop(self) -> None:
        """The take is over: no further runs (one in flight finishes on its own; its result is ignored)."""
        self._stop.set()
        self._wake.set()


def _timed(words: Transcript | None) -> Transcript | None:
    """Only the words with times (a streaming partial ends with untimed ones)."""
    if words is None:
        return None
    timed = tuple(w for w in words.words if w.start is not None and w.end is not None)
    return _joined(words, timed)
