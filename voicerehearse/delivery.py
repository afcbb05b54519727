"""The verdict: metrics + thresholds + the trainee's baseline -> aggressive / passive / assertive, explained.

Each cue that crosses its threshold becomes a :class:`Reason` (cue, value, baseline, threshold, span) whose
weight is how far past the threshold it went (1.0 at the threshold, capped at 3). A style's score is the sum of
its reasons' weights; assertive starts at ``verdict_min_score`` (and gains from assertive language), so a reply
is assertive unless aggressive or passive cues clearly outweigh it.

>>> from voicerehearse.types import PaceMetrics, ToneMetrics
>>> from voicerehearse.settings import load_settings
>>> tone = ToneMetrics(-14.0, 9.0, 260.0, 4.5, 3.0, -8.0, 7.0, 0.8, "baseline.wav")
>>> pace = PaceMetrics(None, 4.0, 5.0, 10, None)
>>> v = judge(tone=tone, pace=pace, turn=None, cues=(), baseline=None, speech_span=(0.5, 3.0), settings=load_settings())
>>> v.label, [r.cue for r in v.reasons]
('aggressive', ['vocal_effort', 'raised_voice', 'raised_pitch'])
"""

from __future__ import annotations

from collections import Counter

from voicerehearse.analysis.lexicon import category
from voicerehearse.types import Baseline, CueMatch, Flag, Interruption, PaceMetrics, Reason, StyleScores, ToneMetrics, TurnTiming, Verdict

_MAX_WEIGHT = 3.0


def _weight(value: float, threshold: float, neutral: float) -> float:
    span = abs(threshold - neutral) or 1.0
    return min(_MAX_WEIGHT, abs(value - neutral) / span)


def _reason(cue, style, value, threshold, *, neutral, baseline, unit, message, span, scale=1.0) -> Reason:
    return Reason(cue, style, round(value, 3), None if baseline is None else round(baseline, 3), threshold, unit,
                  message, span[0], span[1], round(scale * _weight(value, threshold, neutral), 3))


def _stretch(tone: ToneMetrics, crosses, span) -> tuple[float, float]:
    """From the first to the last speech segment that crosses the threshold on its own (else the whole reply)."""
    hits = [seg for seg in tone.segments if crosses(seg)]
    return (hits[0].start, hits[-1].end) if hits else span


def _tone_reasons(tone: ToneMetrics, baseline: Baseline | None, s, span) -> list[Reason]:
    out = []
    ref = tone.baseline
    sd, base_sd = tone.pitch_sd_st, baseline.pitch_sd_st if baseline else None
    lively = sd is not None and base_sd is not None and sd - base_sd >= s.expressive_delta_st
    if lively:
        out.append(Reason("expressive", "assertive", round(sd, 3), round(base_sd, 3), s.expressive_delta_st, "st",
                          f"Lively pitch ({sd - base_sd:+.1f} st more variation than {ref}) sounds engaged and upbeat, "
                          "not hostile.", span[0], span[1], s.expressive_weight))
    arousal = s.expressive_arousal_factor if lively else 1.0
    upbeat = " (counted as enthusiasm: pitch is lively)" if lively else ""
    base_loud = None if tone.loudness_db is None or tone.loudness_delta_db is None else tone.loudness_db - tone.loudness_delta_db
    d = tone.loudness_delta_db
    if d is not None and d >= s.loud_delta_db:
        where = _stretch(tone, lambda seg: seg.loudness_db - base_loud >= s.loud_delta_db, span)
        out.append(_reason("raised_voice", "aggressive", d, s.loud_delta_db, neutral=0.0, baseline=base_loud, unit="dB",
                           message=f"Voice {d:+.1f} dB louder than {ref} (threshold {s.loud_delta_db:+g} dB){upbeat}.",
                           span=where, scale=arousal))
    if d is not None and d <= s.quiet_delta_db:
        where = _stretch(tone, lambda seg: seg.loudness_db - base_loud <= s.quiet_delta_db, span)
        out.append(_reason("soft_voice", "passive", d, s.quiet_delta_db, neutral=0.0, baseline=base_loud, unit="dB",
                           message=f"Voice {d:+.1f} dB softer than {ref} (threshold {s.quiet_delta_db:+g} dB).",
                           span=where))
    p = tone.pitch_delta_st
    base_pitch = None if p is None else tone.pitch_median_hz / 2 ** (p / 12)
    if p is not None and p >= s.high_pitch_delta_st:
        out.append(_reason("raised_pitch", "aggressive", p, s.high_pitch_delta_st, neutral=0.0, baseline=base_pitch,
                           unit="st", message=f"Pitch {p:+.1f} semitones above {ref} "
                                              f"(threshold {s.high_pitch_delta_st:+g} st){upbeat}.",
                           span=span, scale=arousal))
    if p is not None and p <= s.low_pitch_delta_st:
        out.append(_reason("lowered_pitch", "passive", p, s.low_pitch_delta_st, neutral=0.0, baseline=base_pitch,
                           unit="st", message=f"Pitch {p:+.1f} semitones below {ref} (threshold {s.low_pitch_delta_st:+g} st).",
                           span=span))
    if sd is not None and sd < s.monotone_sd_st and (base_sd is None or sd <= s.monotone_ratio * base_sd):
        out.append(_reason("monotone", "passive", sd, s.monotone_sd_st, neutral=2 * s.monotone_sd_st, baseline=base_sd,
                           unit="st", message=f"Pitch varies only {sd:.1f} semitones (monotone below {s.monotone_sd_st:g} st).",
                           span=span))
    a = tone.alpha_ratio_delta_db
    base_alpha = None if a is None else tone.alpha_ratio_db - a
    if a is not None and a >= s.effort_delta_db:
        out.append(_reason("vocal_effort", "aggressive", a, s.effort_delta_db, neutral=0.0, baseline=base_alpha, unit="dB",
                           message=f"Strained, pressed voice: high-frequency energy {a:+.1f} dB over {ref} "
                                   f"(threshold {s.effort_delta_db:+g} dB).", span=span, scale=s.effort_weight))
    if a is not None and a <= s.low_effort_delta_db:
        out.append(_reason("low_effort", "passive", a, s.low_effort_delta_db, neutral=0.0, baseline=base_alpha, unit="dB",
                           message=f"Breathy, low-energy voice: high-frequency energy {a:+.1f} dB under {ref} "
                                   f"(threshold {s.low_effort_delta_db:+g} dB).", span=span, scale=s.effort_weight))
    return out


def _pace_reasons(pace: PaceMetrics, baseline: Baseline | None, s, span) -> list[Reason]:
    out = []
    w = pace.words_per_minute
    if w is not None and w > s.rushed_wpm:
        out.append(_reason("rushed", "aggressive", w, s.rushed_wpm, neutral=135.0, baseline=None, unit="wpm",
                           message=f"{w:.0f} words per minute is rushed (over {s.rushed_wpm:g}).", span=span))
    elif w is not None and w < s.slow_wpm:
        out.append(_reason("slow", "passive", w, s.slow_wpm, neutral=135.0, baseline=None, unit="wpm",
                           message=f"{w:.0f} words per minute is slow (under {s.slow_wpm:g}).", span=span))
    base_rate = baseline.articulation_rate if baseline else None
    rate = pace.articulation_rate
    if w is None and rate is not None and base_rate:
        ratio = rate / base_rate
        if ratio >= s.fast_rate_ratio:
            out.append(_reason("rushed", "aggressive", ratio, s.fast_rate_ratio, neutral=1.0, baseline=1.0, unit="x baseline",
                               message=f"Articulation {rate:.1f} syllables/s is {ratio:.2f}x the baseline {base_rate:.1f} "
                                       f"(threshold {s.fast_rate_ratio:g}x).", span=span))
        elif ratio <= s.slow_rate_ratio:
            out.append(_reason("slow", "passive", ratio, s.slow_rate_ratio, neutral=1.0, baseline=1.0, unit="x baseline",
                               message=f"Articulation {rate:.1f} syllables/s is {ratio:.2f}x the baseline {base_rate:.1f} "
                                       f"(threshold {s.slow_rate_ratio:g}x).", span=span))
    return out


def _turn_reasons(turn: TurnTiming | None, talk_overs: tuple[Interruption, ...], s) -> list[Reason]:
    out = []
    for i in (turn.interruptions if turn else ()) + talk_overs:
        # talking over the customer is aggressive on its own; the longer, the more (1.2 at 0.2 s, 3 from 2 s)
        out.append(Reason("interruption", "aggressive", i.duration_s, None, s.barge_in_min_s, "s",
                          f"Talked over the customer for {i.duration_s:.1f} s before they finished "
                          f"(counts from {s.barge_in_min_s:g} s).", i.start, i.end,
                          round(min(_MAX_WEIGHT, 1.0 + i.duration_s), 3)))
    lat = turn.response_latency_s if turn else None
    if lat is not None and lat >= s.long_latency_s:
        out.append(Reason("long_latency", "passive", lat, None, s.long_latency_s, "s",
                          f"Waited {lat:.1f} s before answering (hesitant from {s.long_latency_s:g} s).",
                          turn.prompt_end_s, turn.reply_start_s, round(_weight(lat, s.long_latency_s, 0.0), 3)))
    return out


def _language_reasons(cues: tuple[CueMatch, ...], s) -> list[Reason]:
    out = []
    apologies = [c for c in cues if c.category == "apology"]
    for c in cues:
        if c.style == "assertive" or c.category == "apology":
            continue
        out.append(Reason(c.category, c.style, None, None, None, "phrase",
                          f"\u201c{c.phrase}\u201d: {category(c.category).advice}", c.start, c.end, 1.0))
    if len(apologies) >= s.repeated_apology_count:
        out.append(Reason("repeated_apology", "passive", float(len(apologies)), None, float(s.repeated_apology_count),
                          "apologies", f"Apologised {len(apologies)} times: {category('apology').advice}",
                          apologies[0].start, apologies[-1].end, 1.0))
    return out


def judge(*, tone: ToneMetrics, pace: PaceMetrics, turn: TurnTiming | None, cues: tuple[CueMatch, ...],
          baseline: Baseline | None, speech_span: tuple[float, float] | None, settings,
          talk_overs: tuple[Interruption, ...] = ()) -> Verdict:
    """Weigh every cue against its threshold and name the style. ``speech_span``: first..last speech (None: no speech)."""
    if speech_span is None:
        return Verdict("no speech", StyleScores(0.0, 0.0, 0.0), (), ("No speech was found in the recording.",))
    span = (round(speech_span[0], 3), round(speech_span[1], 3))
    reasons = (_tone_reasons(tone, baseline, settings, span) + _pace_reasons(pace, baseline, settings, span)
               + _turn_reasons(turn, talk_overs, settings) + _language_reasons(cues, settings))
    totals = Counter()
    for r in reasons:
        totals[r.style] += r.weight
    positive = sum(1 for c in cues if c.style == "assertive")
    scores = StyleScores(round(totals["aggressive"], 3), round(totals["passive"], 3),
                         round(settings.verdict_min_score + totals["assertive"] + 0.5 * positive, 3))
    label = max(("assertive", scores.assertive), ("aggressive", scores.aggressive), ("passive", scores.passive),
                key=lambda kv: kv[1])[0]
    notes = []
    if tone.baseline == "absolute defaults":
        notes.append("No baseline recording: loudness is compared with a default level and pitch level is not judged.")
    reasons.sort(key=lambda r: (r.style != label, -r.weight))
    return Verdict(label, scores, tuple(reasons), tuple(notes))


def flags_for(verdict: Verdict, cues: tuple[CueMatch, ...]) -> tuple[Flag, ...]:
    """Time-stamped flags for the report: every reason, plus assertive language as positive notes."""
    flags = []
    for r in verdict.reasons:
        severity = "problem" if r.weight >= 1.5 or r.cue == "interruption" else "warning"
        flags.append(Flag(r.cue, severity, r.start, r.end, r.message))
    for c in cues:
        if c.style == "assertive":
            flags.append(Flag(c.category, "info", c.start, c.end, f"\u201c{c.phrase}\u201d: {category(c.category).advice}"))
    flags.sort(key=lambda f: (f.start is None, f.start or 0.0))
    return tuple(flags)
