"""Language cues of negotiation style, found in the (timed) words of a reply.

The categories follow the service-negotiation material the scenarios come from: assertive agents show
empathy, own the next step, set expectations and ask what would resolve the problem; aggressive agents issue
ultimatums, blame or dismiss; passive agents hedge, over-apologise or give up.

>>> from voicerehearse.types import Word
>>> words = [Word(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate("calm down I will do it just this once".split())]
>>> [(c.category, c.phrase, round(c.start, 1)) for c in find_cues(words)]
[('dismissive', 'calm down', 0.0), ('ownership', 'i will', 0.8), ('ultimatum', 'just this once', 2.4)]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from voicerehearse.errors import ConfigError
from voicerehearse.types import CueMatch, Word


@dataclass(frozen=True)
class CueCategory:
    name: str
    style: str  # the style the cue points to
    phrases: tuple[str, ...]  # lowercase phrases; "*" matches any one word
    advice: str  # one line of coaching shown with the flag


_NEGATIONS = frozenset({"not", "never", "no", "nothing", "can't", "cannot", "won't", "don't", "couldn't", "wouldn't"})


def load_categories(text: str | None = None) -> tuple[CueCategory, ...]:
    """The phrase table (``phrases.toml`` beside this module, or ``text``); raises ConfigError when malformed."""
    try:
        data = tomllib.loads(text if text is not None else
                             resources.files(__package__).joinpath("phrases.toml").read_text(encoding="utf-8"))
        out = tuple(CueCategory(c["name"], c["style"], tuple(c["phrases"]), c["advice"]) for c in data["category"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"phrase table is not valid: {exc}") from None
    bad = [c.name for c in out if c.style not in ("assertive", "aggressive", "passive")]
    if bad:
        raise ConfigError(f"phrase table: unknown style for {', '.join(bad)}")
    return out


CATEGORIES: tuple[CueCategory, ...] = load_categories()

_TOKEN = re.compile(r"[a-z0-9']+")


def normalise(word: str) -> list[str]:
    """Lowercase tokens with plain apostrophes: ``normalise("I’ll,")`` -> ``["i'll"]``."""
    return _TOKEN.findall(word.lower().replace("\u2019", "'"))


def _compile(categories: Sequence[CueCategory]):
    """Every (phrase tokens, category), longest phrase first."""
    phrases = [(tuple(p.split()), c) for c in categories for p in c.phrases]
    return sorted(phrases, key=lambda item: -len(item[0]))


_COMPILED = _compile(CATEGORIES)


def _negated(tokens: list[str], start: int, end: int) -> bool:
    before = tokens[max(0, start - 2):start]
    after = tokens[end:end + 1]
    return any(t in _NEGATIONS for t in before + after)


def find_cues(words: Sequence[Word], categories: Sequence[CueCategory] | None = None) -> tuple[CueMatch, ...]:
    """Every phrase of every category in ``words``, sorted by position, with context:

    - where phrases overlap the longest wins, whatever its category ("nothing I can do" is not "I can");
    - an assertive phrase next to a negation does not count ("I will not", "nothing I can really");
    - empathy followed within two words by "but" is a ``yes_but``, not empathy.

    Spans come from the words' times (None for untimed transcripts).

    >>> ws = [Word(w, None, None) for w in "I understand but that's not my problem".split()]
    >>> [(c.category, c.phrase) for c in find_cues(ws)]
    [('yes_but', 'i understand but'), ('dismissive', 'not my problem')]
    """
    compiled = _COMPILED if categories is None else _compile(categories)
    tokens: list[str] = []
    owner: list[int] = []  # token -> index of the word it came from
    for i, w in enumerate(words):
        for tok in normalise(w.word):
            tokens.append(tok)
            owner.append(i)
    taken = [False] * len(tokens)
    found: list[tuple[int, int, CueCategory]] = []
    for phrase, cat in compiled:
        n = len(phrase)
        for pos in range(len(tokens) - n + 1):
            if any(taken[pos:pos + n]):
                continue
            if all(p == "*" or p == t for p, t in zip(phrase, tokens[pos:pos + n])):
                if cat.style == "assertive" and _negated(tokens, pos, pos + n):
                    continue
                found.append((pos, pos + n, cat))
                taken[pos:pos + n] = [True] * n
    by_name = {c.name: c for c in (categories or CATEGORIES)}
    out = []
    for start, end, cat in sorted(found, key=lambda item: item[0]):
        if cat.name == "empathy" and "yes_but" in by_name and "but" in tokens[end:end + 2]:
            end = tokens.index("but", end) + 1
            cat = by_name["yes_but"]
        first, last = words[owner[start]], words[owner[end - 1]]
        out.append(CueMatch(cat.name, cat.style, " ".join(tokens[start:end]), first.start, last.end))
    return tuple(out)


def category(name: str) -> CueCategory:
    return next(c for c in CATEGORIES if c.name == name)
