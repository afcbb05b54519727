"""Coaching: every cue has plain advice; feedback is strengths first, then at most two changes with a better line."""

from __future__ import annotations

import re

import pytest

from voicerehearse.analysis.lexicon import CATEGORIES
from voicerehearse.coaching import ADVICE, MAX_CHANGES, coach_reasons
from voicerehearse.delivery import ACOUSTIC_CUES
from voicerehearse.scenarios import load_scenarios
from voicerehearse.types import Reason

INTERNAL = re.compile(r"\b[a-z]+_[a-z_]+\b")  # lowered_pitch, late_fee, open_question ...


def _names():
    return [c.name for c in ACOUSTIC_CUES] + [c.name for c in CATEGORIES] + ["interruption", "long_latency",
                                                                          "repeated_apology"]


@pytest.mark.parametrize("cue", _names())
def test_every_cue_has_advice_in_plain_words(cue):
    a = ADVICE[cue]
    for text in (a.name, a.why, a.instead, a.example):
        assert not INTERNAL.search(text), (cue, text)
    assert a.name and a.why and a.instead


def _reason(cue, style, contribution, phrase=None, unit="phrase", start=1.0):
    return Reason(cue, style, None, None, None, unit, "", start, start + 0.5, contribution, contribution, phrase=phrase)


def test_strengths_first_then_at_most_two_changes_each_with_moment_why_and_a_better_line():
    reasons = (_reason("empathy", "assertive", 0.5, "i understand"), _reason("raised_voice", "aggressive", 2.0, unit="dB"),
               _reason("ultimatum", "aggressive", 1.0, "just this once", start=3.1),
               _reason("blame", "aggressive", 0.5, "your fault"))
    c = coach_reasons(reasons, label="aggressive", better_lines=("The fee is waived; you'll see it on your statement.",))
    assert c.strengths[0].startswith("You acknowledged how the customer feels")
    assert len(c.changes) == MAX_CHANGES
    loud, ultimatum = c.changes
    assert loud.what == "A raised voice" and loud.how and loud.better == "The fee is waived; you'll see it on your statement."
    assert ultimatum.moment == "when you said \u201cjust this once\u201d (3.1 s)" and ultimatum.why
    assert ultimatum.better == ADVICE["ultimatum"].example  # the pack's line is used once, then the cue's own
    for text in (*c.strengths, *(f"{x.moment} {x.what} {x.why} {x.how} {x.better}" for x in c.changes)):
        assert not INTERNAL.search(text), text


def test_an_assertive_reply_gets_strengths_and_no_changes():
    c = coach_reasons((_reason("ownership", "assertive", 0.5, "i will"),), label="assertive")
    assert not c.changes and "Overall you sounded calm and in control" in c.strengths


def test_missing_goals_come_with_the_turns_model_line():
    c = coach_reasons((), label="passive", missing=["expectation"], better_lines=("By Friday, and I'll email you.",))
    assert c.changes[0].what == "No setting a clear next step and time"
    assert c.changes[0].better == "By Friday, and I'll email you."


def test_every_scenario_turn_has_model_lines_in_plain_words():
    for s in load_scenarios(user_dirs=(), env={}):
        for t in s.turns:
            assert t.model_lines, (s.id, t.id)
            for text in (t.customer, t.goal, *t.model_lines):
                assert not INTERNAL.search(text), (s.id, t.id, text)
