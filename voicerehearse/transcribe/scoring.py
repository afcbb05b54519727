"""Word error rate with one documented text normalisation, for comparing transcripts with reference texts.

Normalisation (applied to reference and hypothesis alike, see :func:`normalize`):

1. lower case;
2. numerals become words: ``"42"`` -> ``"forty two"``, ``"1st"`` -> ``"first"``, ``"3.5"`` -> ``"three point
   five"``, ``"1,000"`` -> ``"one thousand"`` (US style, no "and"); ``%`` -> ``percent``, ``&`` -> ``and``;
3. hyphens, slashes and underscores split words (``"inter-asterisk"`` -> ``"inter asterisk"``);
4. every other character that is not a letter, digit or in-word apostrophe is dropped (``"party's"`` stays);
5. recogniser variant marks (``"the(2)"``) and filler tokens (``<sil>``, ``[noise]``, ``+um+``) are removed.

>>> normalize("Press 1, or dial extension 1234!")
['press', 'one', 'or', 'dial', 'extension', 'one', 'thousand', 'two', 'hundred', 'thirty', 'four']
>>> round(wer("the cat sat", "the cat sat down").rate, 3)
0.333
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}

_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
_NOISE = re.compile(r"<[^>]*>|\[[^\]]*\]|\+[^+\s]*\+|\(\d+\)")


def number_words(n: int) -> str:
    """A non-negative integer in English words, US style (no "and").

    >>> number_words(42), number_words(0), number_words(1905), number_words(2_000_013)
    ('forty two', 'zero', 'one thousand nine hundred five', 'two million thirteen')
    """
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return number_words(head) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """A non-negative integer as an English ordinal.

    >>> ordinal_words(1), ordinal_words(22), ordinal_words(40)
    ('first', 'twenty second', 'fortieth')
    """
    *head, last = number_words(n).split()
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _numeral(token: str) -> str:
    suffix = token[-2:] if token[-2:] in ("st", "nd", "rd", "th") else ""
    digits = token[: len(token) - len(suffix)].replace(",", "")
    whole, _, fraction = digits.partition(".")
    if suffix:
        return ordinal_words(int(whole))
    words = number_words(int(whole))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return words


def normalize(text: str) -> list[str]:
    """The words of ``text`` after the module's normalisation (see the module docstring)."""
    text = _NOISE.sub(" ", text.lower())
    text = text.replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"[-/_]", " ", text)
    text = re.sub(r"[‘’`]", "'", text)
    words: list[str] = []
    for token in _TOKEN.findall(text):
        words.extend(_numeral(token).split() if token[0].isdigit() else [token])
    return words


@dataclass(frozen=True)
class WordErrors:
    reference_words: int  # N: words in the normalised reference
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """(S + D + I) / N; 0 for an empty reference and hypothesis, inf for words against an empty reference."""
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.reference_words

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.reference_words + other.reference_words, self.substitutions + other.substitutions,
                          self.deletions + other.deletions, self.insertions + other.insertions)


NO_ERRORS = WordErrors(0, 0, 0, 0)


def wer(reference: str, hypothesis: str) -> WordErrors:
    """Levenshtein alignment of the normalised word sequences; counts of each edit.

    Corpus WER is the sum of the per-file counts (``sum(..., NO_ERRORS).rate``), not the mean of the rates.

    >>> wer("one two three", "lol you know two three")
    WordErrors(reference_words=3, substitutions=1, deletions=0, insertions=2)
    """
    ref, hyp = normalize(reference), normalize(hypothesis)
    # cost table rows: (total, substitutions, deletions, insertions), minimised on total then in that order
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, 1):
        row = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            diag = prev[j - 1]
            same = diag if r == h else (diag[0] + 1, diag[1] + 1, diag[2], diag[3])
            up, left = prev[j], row[j - 1]
            row.append(min(same, (up[0] + 1, up[1], up[2] + 1, up[3]), (left[0] + 1, left[1], left[2], left[3] + 1)))
        prev = row
    _, s, d, ins = prev[-1]
    return WordErrors(len(ref), s, d, ins)
