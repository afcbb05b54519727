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
from collections.abc import Sequence
from dataclasses import dataclass

from voicerehearse.types import CueMatch, Word


@dataclass(frozen=True)
class CueCategory:
    name: str
    style: str  # the style the cue points to
    phrases: tuple[str, ...]  # lowercase phrases; "*" matches any one word
    advice: str  # one line of coaching shown with the flag


CATEGORIES: tuple[CueCategory, ...] = (
    CueCategory("empathy", "assertive", (
        "i understand", "i can understand", "i completely understand", "i hear you", "i see why",
        "that must be", "i'm sorry that", "i am sorry that", "sorry to hear", "that sounds frustrating",
        "i can imagine", "i appreciate", "thank you for your patience",
    ), "Acknowledging the customer's situation keeps the talk on solving it."),
    CueCategory("ownership", "assertive", (
        "let me", "i will", "i'll", "i'm going to", "i am going to", "i can", "i'll make sure", "i will make sure",
        "i'll take care", "i will take care",
    ), "Owning the next step tells the customer someone is on it."),
    CueCategory("expectation", "assertive", (
        "within", "by tomorrow", "by the end of", "business days", "in the next", "call you back",
        "get back to you", "follow up", "you'll receive", "you will receive",
    ), "A clear next step with a time frame sets the customer's expectations."),
    CueCategory("open_question", "assertive", (
        "what would completely satisfy you", "what would make this right", "how can i make this right",
        "what would you like", "is this a good time", "is now a good time", "would that work for you",
        "does that work for you",
    ), "An open question invites the customer to say what would resolve it."),
    CueCategory("ultimatum", "aggressive", (
        "just this once", "only this once", "only this time", "take it or leave it", "final offer",
        "this is the last time", "don't expect", "do not expect", "i'll do it but", "i will do it but",
    ), "First-person ultimatums make a concession sound like a personal favour and invite a fight."),
    CueCategory("blame", "aggressive", (
        "you should have", "your fault", "you didn't", "you did not", "you failed to", "you need to read",
        "as i already said", "like i said", "as i said", "you people", "you never",
    ), "Blaming the customer turns the call into an argument about the past."),
    CueCategory("dismissive", "aggressive", (
        "calm down", "not my problem", "not my job", "listen to me", "you're wrong", "you are wrong",
        "whatever", "there is no way", "there's no way",
    ), "Dismissing the customer's feelings escalates the conflict."),
    CueCategory("hedge", "passive", (
        "i guess", "maybe", "i'm not sure", "i am not sure", "kind of", "sort of", "i don't know", "perhaps",
        "i suppose", "hopefully", "i think maybe",
    ), "Hedges make the agent sound unsure of their own offer."),
    CueCategory("apology", "passive", (
        "sorry", "i apologize", "i apologise", "my apologies", "apologies",
    ), "One sincere apology helps; repeating it sounds like giving in."),
    CueCategory("give_in", "passive", (
        "there's nothing i can do", "there is nothing i can do", "nothing i can do", "i can't do anything",
        "whatever you want", "i'll do whatever", "i can't help", "not up to me", "i have no idea",
    ), "Giving up or giving everything away does not protect the customer or the company."),
)

_TOKEN = re.compile(r"[a-z0-9']+")


def normalise(word: str) -> list[str]:
    """Lowercase tokens with plain apostrophes: ``normalise("I’ll,")`` -> ``["i'll"]``."""
    return _TOKEN.findall(word.lower().replace("\u2019", "'"))


def _compile(categories: Sequence[CueCategory]):
    return [(c, sorted((tuple(p.split()) for p in c.phrases), key=len, reverse=True)) for c in categories]


_COMPILED = _compile(CATEGORIES)


def find_cues(words: Sequence[Word], categories: Sequence[CueCategory] | None = None) -> tuple[CueMatch, ...]:
    """Every phrase of every category in ``words``, longest match first, no overlaps within a category.

    Spans come from the words' times (None for untimed transcripts). Sorted by position.
    """
    compiled = _COMPILED if categories is None else _compile(categories)
    tokens: list[str] = []
    owner: list[int] = []  # token -> index of the word it came from
    for i, w in enumerate(words):
        for tok in normalise(w.word):
            tokens.append(tok)
            owner.append(i)
    found: list[tuple[int, CueMatch]] = []
    for category, phrases in compiled:
        pos = 0
        while pos < len(tokens):
            for phrase in phrases:
                n = len(phrase)
                if all(p == "*" or p == t for p, t in zip(phrase, tokens[pos : pos + n])) and pos + n <= len(tokens):
                    first, last = words[owner[pos]], words[owner[pos + n - 1]]
                    found.append((pos, CueMatch(category.name, category.style, " ".join(phrase), first.start, last.end)))
                    pos += n
                    break
            else:
                pos += 1
    found.sort(key=lambda item: item[0])
    return tuple(match for _, match in found)


def category(name: str) -> CueCategory:
    return next(c for c in CATEGORIES if c.name == name)
