"""Redaction of spoken card, account and phone numbers: masked words and a silenced (or beeped) audio copy.

A run of number words and digits ("four one one one", "4111 1111", "double five", "oh", "dash" between groups)
holding at least ``redact_min_digits`` digits looks like a card, account or phone number; amounts and dates
("two hundred dollars", "the twenty third") hold too few. The run's words become ``[redacted]`` (times kept) and
its time span, padded by ``redact_pad_s``, is silenced or beeped in the audio.

>>> from voicerehearse.types import Word
>>> ws = [Word(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate("my card is four one one one 1111 2222 ok".split())]
>>> spans = find_numbers(ws, min_digits=7)
>>> [(round(s.start, 1), round(s.end, 1), s.digits) for s in spans]
[(1.2, 3.5, 12)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from voicerehearse.types import Transcript, Word

MASK = "[redacted]"
_UNITS = {"zero": 1, "oh": 1, "o": 1, "nought": 1, "one": 1, "two": 1, "three": 1, "four": 1, "five": 1,
          "six": 1, "seven": 1, "eight": 1, "nine": 1}
_TWO_DIGIT = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
              "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_REPEAT = {"double": 2, "triple": 3}
_JOINERS = {"dash", "hyphen", "-", "and"}  # "and" only inside a run still too short to be a number
_TOKEN = re.compile(r"[a-z0-9]+|-")


@dataclass(frozen=True)
class NumberSpan:
    start: float | None
    end: float | None
    first: int  # index of the first word of the run
    last: int  # index of the last word (inclusive)
    digits: int  # digits the run holds


def _digits(token: str, previous: str | None) -> int | None:
    """Digits a token adds to a number run; None when it is not part of one."""
    if token.isdigit():
        return len(token)
    if token in _UNITS:
        return 0 if previous in _TENS else 1  # "thirty four" is two digits, not three
    if token in _TWO_DIGIT:
        return 2
    if token == "hundred":
        return 2
    if token == "thousand":
        return 3
    return None


def find_numbers(words: Sequence[Word], *, min_digits: int) -> tuple[NumberSpan, ...]:
    """Runs of spoken numbers holding at least ``min_digits`` digits, in order.

    A run ends at "and" once it holds enough digits to be a number: "... 4567 and two hundred dollars" masks the
    phone number, not the amount after it (a pause does not end a run: a card number read slowly stays masked).

    >>> from voicerehearse.types import Word
    >>> ws = [Word(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate("555 123 4567 and two hundred dollars".split())]
    >>> [(s.first, s.last, s.digits) for s in find_numbers(ws, min_digits=7)]
    [(0, 2, 10)]
    """
    out: list[NumberSpan] = []
    run_first = run_last = None
    count = 0
    repeat = 1
    previous: str | None = None

    def close():
        if run_first is not None and count >= min_digits:
            out.append(NumberSpan(words[run_first].start, words[run_last].end, run_first, run_last, count))

    for i, w in enumerate(words):
        tokens = _TOKEN.findall(w.word.lower())
        if not tokens:
            continue
        added, is_number, counts = 0, True, False
        for tok in tokens:
            if tok in _REPEAT:
                repeat, counts = _REPEAT[tok], True
                continue
            if tok in _JOINERS and run_first is not None and not (tok == "and" and count >= min_digits):
                continue  # "dash" between groups keeps the run open without extending it
            d = _digits(tok, previous)
            if d is None:
                is_number = False
                break
            added += d * repeat
            repeat, counts, previous = 1, True, tok
        if is_number and (counts or run_first is not None):
            if run_first is None:
                run_first, count = i, 0
            if counts:
                run_last = i
            count += added
        else:
            close()
            run_first, run_last, count, repeat, previous = None, None, 0, 1, None
    close()
    return tuple(out)


def redact_transcript(transcript: Transcript, spans: Sequence[NumberSpan]) -> Transcript:
    """The transcript with each run's words replaced by one ``[redacted]`` word spanning the run."""
    words = list(transcript.words)
    for span in sorted(spans, key=lambda s: -s.first):
        words[span.first:span.last + 1] = [Word(MASK, span.start, span.end, None)]
    return replace(transcript, words=tuple(words), text=" ".join(w.word for w in words))


def redact_audio(samples: np.ndarray, sample_rate: int, spans: Sequence[NumberSpan], *, pad_s: float,
                 beep: bool = False) -> np.ndarray:
    """A copy of ``samples`` ((n,) or (channels, n)) with every span (padded) silenced, or replaced by a 1 kHz
    beep at -20 dBFS. Spans without times are skipped.

    >>> y = np.ones(16000, np.float32)
    >>> out = redact_audio(y, 16000, [NumberSpan(0.25, 0.5, 0, 0, 8)], pad_s=0.0)
    >>> float(out[:4000].min()), float(np.abs(out[4000:8000]).max()), float(out[8000:].min())
    (1.0, 0.0, 1.0)
    """
    out = np.array(samples, dtype=np.float32, copy=True)
    n = out.shape[-1]
    for span in spans:
        if span.start is None or span.end is None:
            continue
        lo = max(0, int((span.start - pad_s) * sample_rate))
        hi = min(n, int(np.ceil((span.end + pad_s) * sample_rate)))
        if hi <= lo:
            continue
        fill = 0.0
        if beep:
            t = np.arange(lo, hi) / sample_rate
            fill = (0.1 * np.sqrt(2) * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
        out[..., lo:hi] = fill
    return out
