"""Spoken card, account and phone numbers are masked in the words and silenced or beeped in the audio."""

import numpy as np
import pytest

from synth import SR, voice
from voicerehearse.redact import MASK, find_numbers, redact_audio, redact_transcript
from voicerehearse.types import Transcript, Word


def _words(text, step=0.35):
    return tuple(Word(w, round(i * step, 3), round(i * step + 0.3, 3)) for i, w in enumerate(text.split()))


@pytest.mark.parametrize("text,digits", [
    ("my card number is 4111 1111 1111 1111 thanks", 16),
    ("it's four one one one one one one one one one one one one one one one", 16),
    ("the account is double five seven oh two nine three one", 8),
    ("call me on five five five dash one two three dash four five six seven", 10),
    ("my number is oh seven nine one one two three four five six seven", 11),
    ("the reference is twelve thirty four fifty six seventy eight", 8),
])
def test_numbers_in_digits_and_words_are_found(text, digits):
    spans = find_numbers(_words(text), min_digits=7)
    assert len(spans) == 1 and spans[0].digits == digits


@pytest.mark.parametrize("text", [
    "I paid two hundred dollars on the twenty third",
    "we can refund fifteen thousand points",
    "it was 2026 when I called, in March",
    "one of our agents will call you back in two days",
])
def test_amounts_dates_and_ordinary_numbers_are_left_alone(text):
    assert find_numbers(_words(text), min_digits=7) == ()


@pytest.mark.parametrize("text,masked", [
    ("call 555 123 4567 and two hundred dollars were refunded", "555 123 4567"),
    ("it is five five five one two three four and the fee was twenty five", "five five five one two three four"),
    ("the card is four one one one and one one one one", "four one one one and one one one one"),  # still short
])
def test_an_amount_after_a_number_is_not_part_of_it(text, masked):
    words = _words(text)
    spans = find_numbers(words, min_digits=7)
    assert [" ".join(w.word for w in words[s.first:s.last + 1]) for s in spans] == [masked]


def test_the_transcript_keeps_everything_but_the_number():
    words = _words("sure the card is 4111 1111 1111 1111 and the expiry")
    t = Transcript("vosk", "m", " ".join(w.word for w in words), words)
    spans = find_numbers(words, min_digits=7)
    out = redact_transcript(t, spans)
    assert [w.word for w in out.words] == ["sure", "the", "card", "is", MASK, "and", "the", "expiry"]
    masked = out.words[4]
    assert (masked.start, masked.end) == (words[4].start, words[7].end)
    assert "4111" not in out.text and "expiry" in out.text


@pytest.mark.parametrize("beep", [False, True])
def test_audio_of_the_number_is_silenced_or_beeped_and_the_rest_untouched(beep):
    y = voice(4.0, f0=150, level_db=-20)
    words = _words("card 4111 1111 1111 1111 done", step=0.6)
    spans = find_numbers(words, min_digits=7)
    out = redact_audio(y, SR, spans, pad_s=0.05, beep=beep)
    lo, hi = int((spans[0].start - 0.05) * SR), int((spans[0].end + 0.05) * SR)
    inside = out[lo:hi]
    if beep:
        spectrum = np.abs(np.fft.rfft(inside))
        assert abs(np.argmax(spectrum) * SR / inside.size - 1000) < 5  # a 1 kHz tone, not the voice
    else:
        assert np.abs(inside).max() == 0.0
    assert np.array_equal(out[: lo - 1], y[: lo - 1]) and np.array_equal(out[hi + 1:], y[hi + 1:])
    assert np.array_equal(y, voice(4.0, f0=150, level_db=-20))  # the original is not modified
