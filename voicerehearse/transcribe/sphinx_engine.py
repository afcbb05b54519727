"""The rough offline fallback: PocketSphinx with the US English model bundled in its PyPI package.

Used when no Vosk model is installed. Its word error rate on conversational speech is high, so every transcript
it makes carries :data:`FALLBACK_NOTE`, which the CLI summary and the reports show.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

from voicerehearse.errors import EngineError
from voicerehearse.types import Transcript, Word

ENGINE = "pocketsphinx"
MODEL = "pocketsphinx-en-us (bundled)"
SAMPLE_RATE_HZ = 16000  # the bundled acoustic model is 16 kHz
FALLBACK_NOTE = (
    "Rough fallback transcript (PocketSphinx, generic English model): expect many wrong words. "
    "For a usable transcript install a Vosk model: voicerehearse models fetch vosk-model-small-en-us-0.15"
)
_ALTERNATE = re.compile(r"\(\d+\)$")  # pronunciation variants: "the(2)" -> "the"

_decoder = None
_lock = threading.Lock()  # guards creation of the decoder
_in_use = threading.Lock()  # one decoder per process: concurrent calls take turns


def _get_decoder():
    """The PocketSphinx decoder, created once per process (about 0.5 s and 100 MB)."""
    global _decoder
    with _lock:
        if _decoder is None:
            try:
                from pocketsphinx import Decoder

                _decoder = Decoder(samprate=SAMPLE_RATE_HZ, loglevel="FATAL")
            except (ImportError, RuntimeError, ValueError) as exc:
                raise EngineError(f"PocketSphinx is unavailable: {exc}") from None
        return _decoder


def preload() -> None:
    """Build the decoder now (about 1 s of CPU) rather than inside the first take."""
    _get_decoder()


def segment_words(segments: Iterable, *, offset_s: float, frame_rate: int) -> tuple[Word, ...]:
    """Real words of PocketSphinx segments (``word``, ``start_frame``, ``end_frame``, ``prob``) in seconds.

    Fillers (``<s>``, ``<sil>``, ``[NOISE]``, ``+um+``) are dropped and variant marks removed.

    >>> from types import SimpleNamespace as S
    >>> segment_words([S(word="<s>", start_frame=0, end_frame=9, prob=1.0),
    ...                S(word="the(2)", start_frame=10, end_frame=29, prob=0.5)], offset_s=1.0, frame_rate=100)
    (Word(word='the', start=1.1, end=1.3, conf=0.5),)
    """
    words = []
    for seg in segments:
        if seg.word.startswith(("<", "[", "+")):
            continue
        start = round(offset_s + seg.start_frame / frame_rate, 3)
        end = round(offset_s + (seg.end_frame + 1) / frame_rate, 3)
        words.append(Word(_ALTERNATE.sub("", seg.word), start, end, round(float(seg.prob), 4)))
    return tuple(words)


def recognize(
    pcm_chunks: Iterable[bytes],
    *,
    on_partial: Callable[[Transcript], None] | None = None,
) -> Transcript:
    """Feed 16-bit mono PCM chunks at 16 kHz; utterances are cut at pauses by PocketSphinx's endpointer.

    Returns a transcript with ``engine="pocketsphinx"`` and the rough-fallback ``note``.
    """
    decoder = _get_decoder()
    with _in_use:
        return _recognize(decoder, pcm_chunks, on_partial)


def _recognize(decoder, pcm_chunks: Iterable[bytes], on_partial: Callable[[Transcript], None] | None) -> Transcript:
    decoder.reinit_feat()  # features adapt (cepstral mean) as they go: start each stream afresh, so a file
    #                        always gives the same transcript whatever was decoded before
    utterances = _Utterances(decoder)
    try:
        for chunk in pcm_chunks:
            utterances.feed(chunk)
            if on_partial is not None:
                on_partial(_transcript(utterances.so_far()))
        utterances.finish()
    finally:
        utterances.close()
    return _transcript(tuple(utterances.words))


class _Utterances:
    """The stream cut into utterances at pauses by PocketSphinx's endpointer, each decoded on its own."""

    def __init__(self, decoder):
        from pocketsphinx import Endpointer

        self.decoder = decoder
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE_HZ)
        self.frame_rate = int(decoder.config["frate"])  # decoder frames per second
        self.words: list[Word] = []
        self.offset: float | None = None  # start of the open utterance (s), None between utterances
        self._pending = b""  # bytes short of a whole endpointer frame

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        size = self.endpointer.frame_bytes
        usable = len(data) - len(data) % size
        for i in range(0, usable, size):
            self._speech(self.endpointer.process(data[i : i + size]))
        self._pending = data[usable:]

    def finish(self) -> None:
        self._speech(self.endpointer.end_stream(self._pending or b"\0\0"), final=True)  # needs >= 1 sample

    def so_far(self) -> tuple[Word, ...]:
        """Final words plus the open utterance's current hypothesis (untimed)."""
        hyp = self.decoder.hyp() if self.offset is not None else None
        current = tuple(Word(_ALTERNATE.sub("", w), None, None) for w in hyp.hypstr.split()) if hyp else ()
        return tuple(self.words) + current

    def close(self) -> None:
        if self.offset is not None:  # interrupted mid-utterance: leave the shared decoder reusable
            self.decoder.end_utt()
            self.offset = None

    def _speech(self, data: bytes | None, *, final: bool = False) -> None:
        if data:  # None outside speech; end_stream may return b""
            if self.offset is None:
                self.offset = self.endpointer.speech_start
                self.decoder.start_utt()
            self.decoder.process_raw(data, False, False)
        if self.offset is not None and (final or not self.endpointer.in_speech):
            self.decoder.end_utt()
            self.words.extend(segment_words(self.decoder.seg(), offset_s=self.offset, frame_rate=self.frame_rate))
            self.offset = None


def _transcript(words: tuple[Word, ...]) -> Transcript:
    return Transcript(ENGINE, MODEL, " ".join(w.word for w in words), words, note=FALLBACK_NOTE)
