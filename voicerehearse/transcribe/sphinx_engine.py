"""The rough offline fallback: PocketSphinx with the US English model bundled in its PyPI package.

Used when no Vosk model is installed. Its word error rate on conversational speech is high, so every transcript
it makes carries :data:`FALLBACK_NOTE`, which the CLI summary and the reports show.

Measured on asr-dev (``scripts/evaluate_asr.py``): cutting the stream into utterances with the endpointer and
decoding them with the running (live) cepstral mean gave corpus WER 0.84 where the library's own whole-file
decode gives 0.62. The live mean alone (whole file streamed, no endpointer) gave 0.82; the endpointer alone (its
utterances decoded whole) 0.75, because it trims the starts and ends of words. So spans are decoded whole, with
their silences, and the endpointer only says where a long stream may be cut.
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
    """Feed 16-bit mono PCM chunks at 16 kHz; returns a transcript with the rough-fallback ``note``.

    The stream is decoded the way the PocketSphinx library decodes a file: whole spans of audio, silences
    included, each as one utterance (``process_raw(..., full_utt=True)``, so the cepstral mean is the span's
    own). A span ends at the first pause after :data:`SPAN_S` seconds (or at :data:`MAX_SPAN_S` without one),
    so long recordings are decoded piece by piece and never held whole. With ``on_partial`` the open span is
    also decoded as it streams, for display only: the words returned are always those of the whole-span
    decode, so a live take and the same audio read from a file give the same transcript.
    """
    decoder = _get_decoder()
    with _in_use:
        spans = _Spans(decoder, live=on_partial is not None)
        try:
            for chunk in pcm_chunks:
                spans.feed(chunk)
                if on_partial is not None:
                    on_partial(_transcript(spans.so_far()))
            spans.finish()
        finally:
            spans.close()
        return _transcript(tuple(spans.words))


SPAN_S = 20.0  # a span is closed at the first pause after this much audio...
MAX_SPAN_S = 60.0  # ...or here without a pause; files up to SPAN_S are decoded as one utterance


class _Spans:
    """The stream cut into spans at pauses (PocketSphinx's endpointer finds them); each span decoded whole."""

    def __init__(self, decoder, *, live: bool):
        from pocketsphinx import Endpointer

        self.decoder = decoder
        self.live = live  # stream-decode the open span for partial results
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE_HZ)
        self.frame_rate = int(decoder.config["frate"])  # decoder frames per second
        self.words: list[Word] = []
        self.span = bytearray()  # the open span's PCM
        self.span_start = 0  # its first sample
        self._streaming = False  # a partial-results utterance is open in the decoder
        self._pending = b""  # bytes short of a whole endpointer frame
        self._was_speech = False
        self._span_speech = False  # the endpointer heard speech in the open span

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        size = self.endpointer.frame_bytes
        usable = len(data) - len(data) % size
        for i in range(0, usable, size):
            frame = data[i : i + size]
            self.span += frame
            if self.live:
                if not self._streaming:
                    self.decoder.start_utt()
                    self._streaming = True
                self.decoder.process_raw(frame, False, False)
            self.endpointer.process(frame)
            paused = self._was_speech and not self.endpointer.in_speech
            self._was_speech = self.endpointer.in_speech
            self._span_speech |= self.endpointer.in_speech
            seconds = len(self.span) / 2 / SAMPLE_RATE_HZ
            if (paused and seconds >= SPAN_S) or seconds >= MAX_SPAN_S:
                self._decode_span()
        self._pending = data[usable:]

    def finish(self) -> None:
        self.span += self._pending
        self._pending = b""
        if self.span:
            self._decode_span()

    def so_far(self) -> tuple[Word, ...]:
        """Final words plus the open span's current hypothesis (untimed)."""
        hyp = self.decoder.hyp() if self._streaming else None
        current = tuple(Word(_ALTERNATE.sub("", w), None, None) for w in hyp.hypstr.split()) if hyp else ()
        return tuple(self.words) + current

    def close(self) -> None:
        if self._streaming:  # interrupted mid-span: leave the shared decoder reusable
            self.decoder.end_utt()
            self._streaming = False

    def _decode_span(self) -> None:
        self.close()
        if self._span_speech:  # a span without speech gives no words (decoded, silence can turn into "dog")
            self._decode_whole()
        self._span_speech = self._was_speech
        self.span_start += len(self.span) // 2
        self.span = bytearray()

    def _decode_whole(self) -> None:
        self.decoder.reinit_feat()  # features start afresh (cepstral mean, noise floor), so a span always
        #                             gives the same words whatever was decoded before
        self.decoder.start_utt()
        self.decoder.process_raw(bytes(self.span), False, True)
        self.decoder.end_utt()
        offset = self.span_start / SAMPLE_RATE_HZ
        self.words.extend(segment_words(self.decoder.seg(), offset_s=offset, frame_rate=self.frame_rate))


def _transcript(words: tuple[Word, ...]) -> Transcript:
    return Transcript(ENGINE, MODEL, " ".join(w.word for w in words), words, note=FALLBACK_NOTE)
