"""Coaching that says what to do instead: plain names and advice for every cue, and the feedback after a reply.

The verdict (:mod:`voicerehearse.delivery`) says *why* a reply sounded aggressive, passive or assertive; this
module turns its reasons into what a person reads after the reply: what went well first, then at most two things
to change, each with the moment, why it matters and a better line (from the scenario pack's model phrasings for
that turn when it has them). Internal cue names never reach the text.

>>> from voicerehearse.types import Reason
>>> r = Reason("ultimatum", "aggressive", None, None, None, "phrase", "", 3.1, 3.8, 1.0, 1.0, phrase="just this once")
>>> c = coach_reasons((r,), label="aggressive", better_lines=("The fee is removed; it will show on your next statement.",))
>>> c.changes[0].moment, c.changes[0].better
('when you said \u201cjust this once\u201d (3.1 s)', 'The fee is removed; it will show on your next statement.')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voicerehearse.types import Analysis, Reason

MAX_CHANGES = 2


@dataclass(frozen=True)
class Advice:
    """What a person reads about one cue."""

    name: str  # plain words for the cue ("a raised voice", "showing empathy")
    why: str  # why it matters on a call
    instead: str  # what to do (for a problem) or what went well (for a strength)
    example: str = ""  # a generic better line, used when the scenario has no model phrasing for the turn


_A = Advice
ADVICE: dict[str, Advice] = {
    # --- how it sounded (delivery.ACOUSTIC_CUES)
    "raised_voice": _A("a raised voice", "A louder voice sounds like a fight, and an upset customer matches it.",
                       "Bring your volume back to your calm read and let the words carry the message."),
    "soft_voice": _A("a soft voice", "A quiet voice sounds unsure, so the customer pushes harder.",
                     "Speak up to your calm read, as if the customer sat across the desk."),
    "raised_pitch": _A("a raised, tense pitch", "A tense, high voice tells the customer you are rattled.",
                       "Breathe out before you answer and start your sentence low and slow."),
    "lowered_pitch": _A("a low, flat pitch", "A sinking voice sounds resigned, as if nothing can be done.",
                        "Lift the start of your sentence and say the next step like good news."),
    "expressive": _A("a lively, engaged voice", "Melody tells the customer a person is listening.",
                     "Your voice moved naturally — it sounded engaged."),
    "monotone": _A("a flat, monotone voice", "A flat voice sounds read from a script, and empathy gets lost.",
                   "Stress the words that matter to the customer: their problem and what you will do."),
    "vocal_effort": _A("a strained, pressed voice", "A pressed voice sounds impatient, even with polite words.",
                       "Relax your shoulders and jaw; speak at your calm read's effort."),
    "low_effort": _A("a breathy, low-energy voice", "Low energy sounds like you have given up on the problem.",
                     "Sit up and give the next step some energy: you are the one fixing it."),
    "tense_voice": _A("a tight, tense voice", "A tight throat makes even a helpful answer sound like a reprimand.",
                      "Let your breath out before you speak and keep your throat as loose as in your calm read."),
    "breathy_voice": _A("a breathy, weak voice", "A breathy voice sounds tired or unsure of the answer.",
                        "Take a full breath and give the first words a clear, firm start."),
    "harsh_timbre": _A("a harsh, sharp tone", "A sharp edge in the voice is heard as irritation.",
                       "Soften the attack of your words and smile a little as you speak: it warms the tone."),
    "dull_timbre": _A("a dull, muffled tone", "A dull tone sounds disengaged, as if the call does not matter.",
                      "Face the microphone, open your mouth a little more and speak to the customer, not the desk."),
    "rushed": _A("rushed speech", "Rushing sounds like you want the call over, and details get missed.",
                 "Slow down and pause after the important part (what you will do and when)."),
    "slow": _A("slow, dragging speech", "A dragging pace sounds hesitant and stretches the customer's patience.",
               "Know your first sentence before you start, then say it at your normal pace."),
    # --- timing (delivery turn and count reasons)
    "interruption": _A("talking over the customer", "Cutting in tells the customer they are not being heard.",
                       "Let them finish, count one beat, then answer.",
                       "I'm sorry, please go on — I want to make sure I have the whole picture."),
    "long_latency": _A("a long wait before answering", "A long silence sounds like you do not know what to do.",
                       "Start with an acknowledgement while you think, then give the next step.",
                       "I hear you. Let me look at this right now."),
    "repeated_apology": _A("apologising again and again", "One apology is sincere; several sound like giving in.",
                           "Apologise once, then move to what you will do.",
                           "I'm sorry about that. Here is what I'll do right now."),
    # --- what was said (lexicon CATEGORIES)
    "empathy": _A("showing empathy", "Acknowledging the customer's situation keeps the talk on solving it.",
                  "You acknowledged how the customer feels.",
                  "I can see why that's frustrating, especially after waiting this long."),
    "ownership": _A("owning the next step", "Owning the next step tells the customer someone is on it.",
                    "You took ownership of the next step.",
                    "I'll take care of this myself."),
    "expectation": _A("setting a clear next step and time", "A next step with a time frame stops the worry.",
                      "You told the customer what happens next and when.",
                      "You'll see it on your account by Friday, and I'll email you when it's done."),
    "open_question": _A("asking what would help", "An open question lets the customer say what would solve it.",
                        "You asked the customer what would help.",
                        "What would completely solve this for you?"),
    "ultimatum": _A("an ultimatum or 'just this once'",
                    "It makes a normal concession sound like a personal favour and invites a fight.",
                    "State what you can do as part of the service, without conditions or threats.",
                    "I've removed the fee; that's something we can do for customers like you."),
    "blame": _A("blaming the customer", "Blame turns the call into an argument about the past.",
                "Accept that there is a problem, without excuses, and move to the fix.",
                "That shouldn't have happened. Let's get it fixed."),
    "dismissive": _A("dismissing the customer's feelings", "Telling someone to calm down makes them angrier.",
                     "Name the feeling instead, then say what you will do.",
                     "I understand this is stressful. Here's what I can do right now."),
    "yes_but": _A("'I understand, but…'", "The 'but' takes the understanding back.",
                  "Say the understanding, stop, then say what you can do, joined with 'and'.",
                  "I understand, and here's what I can do for you."),
    "hedge": _A("hedging ('I guess', 'maybe')", "Hedges make your own offer sound unsure.",
                "Say what you will do as a plain fact.",
                "I will send the replacement today."),
    "apology": _A("apologising", "One sincere apology helps; more sounds like giving in.",
                  "Apologise once, then move to the fix.",
                  "I'm sorry about that. Here's what I'll do."),
    "give_in": _A("giving up or giving everything away",
                  "It protects neither the customer nor the company.",
                  "Say what you can do within the policy, and offer the exception you are allowed.",
                  "I can't refund it without the receipt, and I can give you store credit today."),
}


def advice(cue: str) -> Advice:
    """The advice for a cue name; an unknown cue gets a neutral line (never its internal name)."""
    return ADVICE.get(cue) or Advice("something in the reply", "It stood out against your calm read.",
                                     "Listen back and compare it with your calm read.")


def plain(cue: str) -> str:
    """People-facing name of a cue."""
    return advice(cue).name


@dataclass(frozen=True)
class Change:
    """One thing to change, for the person who spoke."""

    moment: str  # when ("when you said “…” (3.1 s)", "at 1.2 s", "in this reply")
    what: str  # what happened, in plain words
    why: str
    better: str  # a better line to say (without quotes)
    how: str = ""  # how to say it, for a cue of the voice


@dataclass(frozen=True)
class Coaching:
    strengths: tuple[str, ...]  # shown first, with ✓
    changes: tuple[Change, ...]  # at most MAX_CHANGES
    note: str | None = None  # e.g. why the words were not checked


def _moment(r: Reason) -> str:
    if r.phrase:
        return f"when you said \u201c{r.phrase}\u201d" + (f" ({r.start:.1f} s)" if r.start is not None else "")
    if r.start is None:
        return "in this reply"
    if r.end is not None and r.end - r.start >= 1.0:
        return f"from {r.start:.1f} s to {r.end:.1f} s"
    return f"at {r.start:.1f} s"


def _better(cue: str, lines: list[str]) -> str:
    """The next unused model line from the pack, else the cue's own example or how-to."""
    a = advice(cue)
    if lines:
        return lines.pop(0)
    return a.example or ADVICE["ownership"].example


def coach_reasons(reasons: Sequence[Reason], *, label: str, better_lines: Sequence[str] = (),
                  missing: Iterable[str] = (), events: Iterable[str] = ()) -> Coaching:
    """Strengths first, then at most two changes (the reasons that weighed most against the assertive style,
    then language goals the reply missed), each with a better line."""
    lines = list(better_lines)
    strengths: list[str] = []
    seen: set[str] = set()
    for r in reasons:
        if r.style == "assertive" and r.cue not in seen:
            seen.add(r.cue)
            said = f": \u201c{r.phrase}\u201d" if r.phrase else ""
            strengths.append(advice(r.cue).instead.rstrip(".") + said)
    against = sorted((r for r in reasons if r.style != "assertive"), key=lambda r: -r.contribution)
    if "interrupted" not in events and not any(r.cue == "interruption" for r in against):
        strengths.append("You let the customer finish before you answered")
    if label == "assertive":
        strengths.append("Overall you sounded calm and in control")
    if not any(r.style != "assertive" and r.unit in ("dB", "st", "x baseline") for r in reasons):
        strengths.append("Your voice stayed close to your calm read")
    changes: list[Change] = []
    used: set[str] = set()
    for r in against:
        if r.cue in used or len(changes) >= MAX_CHANGES:
            continue
        used.add(r.cue)
        a = advice(r.cue)
        voice = r.unit in ("dB", "st", "x baseline")
        changes.append(Change(_moment(r), a.name[0].upper() + a.name[1:], a.why, _better(r.cue, lines),
                              a.instead if voice else ""))
    for cue in missing:
        if len(changes) >= MAX_CHANGES:
            break
        a = advice(cue)
        changes.append(Change("in this reply", f"No {a.name}", a.why, _better(cue, lines)))
    return Coaching(tuple(strengths), tuple(changes))


def coach(analysis: Analysis, turn=None) -> Coaching:
    """The feedback after one reply. ``turn``: the scenario turn (its ``expect`` goals and ``model_lines``)."""
    verdict = analysis.delivery
    transcript = analysis.transcript
    trusted = transcript is not None and not transcript.rough
    found = {c.category for c in analysis.cues}
    missing = [c for c in (turn.expect if turn is not None else ()) if c not in found] if trusted else []
    events = ["interrupted"] if analysis.turn is not None and analysis.turn.interrupted else []
    result = coach_reasons(verdict.reasons, label=verdict.label,
                           better_lines=turn.model_lines if turn is not None else (), missing=missing, events=events)
    note = None
    if transcript is not None and transcript.rough and turn is not None and turn.expect:
        note = ("The words were only roughly recognised, so what you said is not checked — "
                "only how it sounded.")
    elif transcript is None and turn is not None and turn.expect:
        note = "No speech recognition in this run: only how it sounded is judged."
    return Coaching(result.strengths, result.changes, note)
