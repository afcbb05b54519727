"""The verdict: measures relative to the trainee's baseline -> aggressive / passive / assertive, explained exactly.

Each acoustic cue is the difference from the baseline in units of its **normal spread** (how much two neutral
sentences of one speaker differ, a setting per cue), so ``z = 1`` is an everyday difference. A cue counts only
past ``cue_threshold_spreads``, and then by how far past: ``contribution = weight x (|z| - threshold)``, with the
weights fitted on labelled speech (``delivery_model.toml``, written by ``scripts/fit_delivery.py``). So a cue a hair
past its threshold adds almost nothing and cannot decide alone.

A style's score is its prior (the model's intercept; 0 for assertive) plus the contributions of its reasons —
acoustic, timing (interruptions, a long wait) and language — so every score is explained exactly by its reasons.
The label is the highest score; ``confidence`` is its softmax probability.

>>> from voicerehearse.types import PaceMetrics, ToneMetrics, Baseline
>>> from voicerehearse.settings import load_settings
>>> base = Baseline(-26.0, 180.0, 2.0, -12.0, 4.0, "calm.wav")
>>> tone = ToneMetrics(-14.0, 12.0, 285.0, 8.0, 3.0, -2.0, 10.0, 0.8, "calm.wav")
>>> v = judge(tone=tone, pace=PaceMetrics(None, 4.0, 4.2, 10, None), turn=None, cues=(), baseline=base,
...           speech_span=(0.5, 3.0), settings=load_settings())
>>> v.label, [r.cue for r in v.reasons if r.style == "aggressive"]
('aggressive', ['raised_voice', 'raised_pitch', 'vocal_effort'])
>>> round(v.prior.aggressive + sum(r.contribution for r in v.reasons if r.style == "aggressive"), 3) == v.scores.aggressive
True
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from voicerehearse.analysis.lexicon import category
from voicerehearse.analysis.tone import same_band
from voicerehearse.errors import ConfigError
from voicerehearse.labels import STYLES
from voicerehearse.types import (Baseline, CueMatch, Flag, Interruption, PaceMetrics, Reason, StyleScores, ToneMetrics,
                                 Transcript, TurnTiming, Verdict)
from voicerehearse.settings import Settings


@dataclass(frozen=True)
class AcousticCue:
    """One direction of one measure: e.g. loudness above the baseline is ``raised_voice``."""

    name: str
    style: str  # the style it argues for
    measure: str  # key of :func:`cue_deltas`
    direction: int  # +1: above the baseline, -1: below
    unit: str
    spread_setting: str  # the settings field holding this measure's normal spread
    says: str  # what it sounds like, for the message


ACOUSTIC_CUES: tuple[AcousticCue, ...] = (
    AcousticCue("raised_voice", "aggressive", "loudness", +1, "dB", "loudness_spread_db", "a raised voice"),
    AcousticCue("soft_voice", "passive", "loudness", -1, "dB", "loudness_spread_db", "a soft voice"),
    AcousticCue("raised_pitch", "aggressive", "pitch", +1, "st", "pitch_spread_st", "a raised, tense pitch"),
    AcousticCue("lowered_pitch", "passive", "pitch", -1, "st", "pitch_spread_st", "a lowered, flat pitch"),
    AcousticCue("expressive", "assertive", "pitch_sd", +1, "st", "pitch_sd_spread_st", "a lively, engaged melody"),
    AcousticCue("monotone", "passive", "pitch_sd", -1, "st", "pitch_sd_spread_st", "a monotone"),
    AcousticCue("vocal_effort", "aggressive", "effort", +1, "dB", "effort_spread_db", "a strained, pressed voice"),
    AcousticCue("low_effort", "passive", "effort", -1, "dB", "effort_spread_db", "a breathy, low-energy voice"),
    AcousticCue("tense_voice", "aggressive", "tension", -1, "dB", "tension_spread_db", "a tight, tense voice"),
    AcousticCue("breathy_voice", "passive", "tension", +1, "dB", "tension_spread_db", "a breathy, weak voice"),
    AcousticCue("harsh_timbre", "aggressive", "brightness", +1, "dB", "brightness_spread_db", "a harsh, sharp tone"),
    AcousticCue("dull_timbre", "passive", "brightness", -1, "dB", "brightness_spread_db", "a dull, muffled tone"),
    AcousticCue("rushed", "aggressive", "rate", +1, "x baseline", "articulation_spread_pct", "rushed speech"),
    AcousticCue("slow", "passive", "rate", -1, "x baseline", "articulation_spread_pct", "slow, dragging speech"),
)
_MEASURE_NAME = {"loudness": "Loudness", "pitch": "Pitch", "pitch_sd": "Pitch variation", "effort": "Vocal effort",
                 "tension": "Voice tension (H1-A3)", "brightness": "Brightness", "rate": "Articulation rate"}


@dataclass(frozen=True)
class DeliveryModel:
    """Fitted weights of the verdict (see ``scripts/fit_delivery.py``)."""

    version: str
    prior: StyleScores  # intercepts; assertive is the reference (0)
    weights: dict  # acoustic cue name -> weight per spread past the threshold (>= 0)
    source: str


def load_model(path: str | Path | None = None) -> DeliveryModel:
    """The bundled model, or the TOML file at ``path``; raises ConfigError when it is unreadable, lacks its prior or
    names a cue that does not exist. A cue it does not name weighs 0 (the file predates that cue).

    >>> load_model().prior.assertive
    0.0
    """
    try:
        text = Path(path).read_text(encoding="utf-8") if path else \
            resources.files("voicerehearse").joinpath("delivery_model.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
        unknown = sorted(set(data["weights"]) - {c.name for c in ACOUSTIC_CUES})
        if unknown:
            raise ValueError(f"unknown cue(s) {', '.join(unknown)}")
        # a cue the file does not name weighs 0: a model fitted before that cue was measured still loads
        weights = {c.name: float(data["weights"].get(c.name, 0.0)) for c in ACOUSTIC_CUES}
        prior = StyleScores(float(data["prior"]["aggressive"]), float(data["prior"]["passive"]), 0.0)
    except OSError as exc:
        raise ConfigError(f"delivery model {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"delivery model {path or '(bundled)'} is not a valid model file: {exc}") from None
    if any(w < 0 or not math.isfinite(w) for w in weights.values()):
        raise ConfigError(f"delivery model {path or '(bundled)'}: weights must be finite and >= 0")
    return DeliveryModel(str(data.get("version", "?")), prior, weights, str(path or "bundled"))


@lru_cache(maxsize=8)
def _model(path: str) -> DeliveryModel:
    return load_model(path or None)


def cue_deltas(tone: ToneMetrics, pace: PaceMetrics, baseline: Baseline | None, settings: Settings) -> dict:
    """Each measure's difference from the reference, in its unit, with the reference value: ``{measure: (delta,
    reference)}``; a measure that cannot be compared is left out. Without a baseline only loudness (against
    ``default_loudness_dbfs``) and pitch variation (against ``default_pitch_sd_st``) are compared."""
    out = {}
    if tone.loudness_delta_db is not None:
        out["loudness"] = (tone.loudness_delta_db, tone.loudness_db - tone.loudness_delta_db)
    if tone.pitch_delta_st is not None:
        out["pitch"] = (tone.pitch_delta_st, tone.pitch_median_hz / 2 ** (tone.pitch_delta_st / 12))
    ref_sd = baseline.pitch_sd_st if baseline is not None else settings.default_pitch_sd_st
    if tone.pitch_sd_st is not None and ref_sd is not None:
        out["pitch_sd"] = (tone.pitch_sd_st - ref_sd, ref_sd)
    if tone.alpha_ratio_delta_db is not None:
        out["effort"] = (tone.alpha_ratio_delta_db, tone.alpha_ratio_db - tone.alpha_ratio_delta_db)
    if tone.h1_a3_delta_db is not None:
        out["tension"] = (tone.h1_a3_delta_db, tone.h1_a3_db - tone.h1_a3_delta_db)
    if tone.brightness_delta_db is not None:
        out["brightness"] = (tone.brightness_delta_db, tone.brightness_db - tone.brightness_delta_db)
    base_rate = baseline.articulation_rate if baseline is not None else None
    if pace.articulation_rate and base_rate:
        out["rate"] = (pace.articulation_rate / base_rate, base_rate)
    return out


def _spread(cue: AcousticCue, baseline: Baseline | None, settings: Settings) -> float:
    if cue.measure == "loudness" and baseline is None:
        return settings.default_loudness_spread_db
    return getattr(settings, cue.spread_setting)


def cue_excess(tone: ToneMetrics, pace: PaceMetrics, baseline: Baseline | None, settings: Settings) -> dict[str, float]:
    """How many normal spreads past its threshold each acoustic cue is (0 when inside): the model's inputs.

    >>> from voicerehearse.settings import load_settings
    >>> s = load_settings()
    >>> t = ToneMetrics(-20.0, 6.0, None, None, None, None, None, None, "absolute defaults")
    >>> cue_excess(t, PaceMetrics(None, None, None, 0, None), None, s)["raised_voice"] == 6 / s.default_loudness_spread_db - s.cue_threshold_spreads
    True
    """
    deltas = cue_deltas(tone, pace, baseline, settings)
    out = {}
    for cue in ACOUSTIC_CUES:
        if cue.measure not in deltas:
            continue
        delta = deltas[cue.measure][0]
        spread = _spread(cue, baseline, settings)
        z = math.log(delta) / math.log1p(spread / 100) if cue.measure == "rate" else delta / spread
        out[cue.name] = max(0.0, cue.direction * z - settings.cue_threshold_spreads)
    return out


def _threshold(cue: AcousticCue, baseline: Baseline | None, settings: Settings) -> float:
    """The cue's threshold in its own unit (a difference from the baseline; a ratio for the rate)."""
    spread, k = _spread(cue, baseline, settings), settings.cue_threshold_spreads
    if cue.measure == "rate":
        return round((1 + spread / 100) ** (cue.direction * k), 3)
    return round(cue.direction * k * spread, 3)


def _stretch(tone: ToneMetrics, crosses, span) -> tuple[float, float]:
    """From the first to the last speech segment that crosses the threshold on its own (else the whole reply)."""
    hits = [seg for seg in tone.segments if crosses(seg)]
    return (hits[0].start, hits[-1].end) if hits else span


def _acoustic_reasons(tone, pace, baseline, settings: Settings, model, span) -> list[Reason]:
    deltas = cue_deltas(tone, pace, baseline, settings)
    excess = cue_excess(tone, pace, baseline, settings)
    ref = tone.baseline
    out = []
    for cue in ACOUSTIC_CUES:
        if excess.get(cue.name, 0.0) <= 0.0 or model.weights[cue.name] == 0.0:
            continue  # inside its normal spread, or a cue the fitted model found adds nothing: no reason to show
        delta, reference = deltas[cue.measure]
        threshold = _threshold(cue, baseline, settings)
        where = span
        if cue.measure == "loudness":
            where = _stretch(tone, lambda seg: cue.direction * (seg.loudness_db - reference) >= cue.direction * threshold,
                             span)
        spread = _spread(cue, baseline, settings)
        if cue.measure == "rate":
            shown, limit, normal = f"{delta:.2f}x", f"{threshold:.2f}x", f"\u00b1{spread:.0f} %"
        else:
            shown, limit, normal = f"{delta:+.1f} {cue.unit}", f"{threshold:+.1f} {cue.unit}", f"\u00b1{spread:.1f} {cue.unit}"
        message = (f"{_MEASURE_NAME[cue.measure]} {shown} against {ref} (counts from {limit}; two calm sentences "
                   f"differ by about {normal}): sounds like {cue.says}.")
        contribution = round(model.weights[cue.name] * excess[cue.name], 3)
        out.append(Reason(cue.name, cue.style, round(delta, 3), round(reference, 3), threshold, cue.unit, message,
                          where[0], where[1], contribution, contribution))
    return out


def trusted_words(transcript: Transcript | None) -> bool:
    """Only words from a real recogniser (or given by the user) drive the verdict; the rough fallback is shown only."""
    return transcript is not None and not transcript.rough


def _pace_reasons(pace: PaceMetrics, baseline: Baseline | None, transcript, speaking_time_s, s) -> list[Reason]:
    """Words per minute, only when there is no baseline rate to compare with, from trusted words, and enough of
    them (``wpm_min_words`` over ``wpm_min_speech_s``)."""
    w = pace.words_per_minute
    if (w is None or not trusted_words(transcript) or (baseline is not None and baseline.articulation_rate)
            or (pace.word_count or 0) < s.wpm_min_words or (speaking_time_s or 0.0) < s.wpm_min_speech_s):
        return []
    for cue, style, limit, sign in (("rushed", "aggressive", s.rushed_wpm, 1), ("slow", "passive", s.slow_wpm, -1)):
        excess = sign * (w - limit) / s.wpm_score_step_wpm
        if excess > 0:
            word = "rushed" if sign > 0 else "slow"
            c = round(excess, 3)
            return [Reason(cue, style, round(w, 1), None, limit, "wpm",
                           f"{w:.0f} words per minute is {word} ({'over' if sign > 0 else 'under'} {limit:g}).",
                           None, None, c, c)]
    return []


def _turn_reasons(turn: TurnTiming | None, talk_overs: tuple[Interruption, ...], s) -> list[Reason]:
    out = []
    for i in (turn.interruptions if turn else ()) + talk_overs:
        # talking over the customer is aggressive on its own; the longer, the more
        c = round(min(s.interruption_score_max, s.interruption_score + s.interruption_score_per_s * i.duration_s), 3)
        out.append(Reason("interruption", "aggressive", round(i.duration_s, 3), None, s.barge_in_min_s, "s",
                          f"Talked over the customer for {i.duration_s:.1f} s before they finished "
                          f"(counts from {s.barge_in_min_s:g} s).", i.start, i.end, c, c))
    lat = turn.response_latency_s if turn else None
    if lat is not None and lat >= s.long_latency_s:
        c = round(s.latency_score + s.latency_score_per_s * (lat - s.long_latency_s), 3)
        out.append(Reason("long_latency", "passive", round(lat, 3), None, s.long_latency_s, "s",
                          f"Waited {lat:.1f} s before answering (hesitant from {s.long_latency_s:g} s).",
                          turn.prompt_end_s, turn.reply_start_s, c, c))
    return out


def _language_reasons(cues: tuple[CueMatch, ...], s) -> list[Reason]:
    out = []
    apologies = [c for c in cues if c.category == "apology"]
    for c in cues:
        if c.category == "apology":
            continue
        score = s.assertive_phrase_score if c.style == "assertive" else s.language_cue_score
        out.append(Reason(c.category, c.style, None, None, None, "phrase",
                          f"\u201c{c.phrase}\u201d: {category(c.category).advice}", c.start, c.end, score, score,
                          phrase=c.phrase))
    if len(apologies) >= s.repeated_apology_count:
        out.append(Reason("repeated_apology", "passive", float(len(apologies)), None, float(s.repeated_apology_count),
                          "apologies", f"Apologised {len(apologies)} times: {category('apology').advice}",
                          apologies[0].start, apologies[-1].end, s.language_cue_score, s.language_cue_score))
    return out


def judge(*, tone: ToneMetrics, pace: PaceMetrics, turn: TurnTiming | None, cues: tuple[CueMatch, ...],
          baseline: Baseline | None, speech_span: tuple[float, float] | None, settings: Settings,
          talk_overs: tuple[Interruption, ...] = (), transcript: Transcript | None = None,
          speaking_time_s: float | None = None) -> Verdict:
    """Weigh every cue and name the style. ``speech_span``: first..last speech (None: no speech).

    Language cues count only when ``cues`` come from trusted words (see :func:`trusted_words`); pass
    ``transcript`` so the judge can tell. Untimed or user-given words (``transcript=None``) are trusted.
    """
    if speech_span is None:
        return Verdict("no speech", StyleScores(0.0, 0.0, 0.0), (), ("No speech was found in the recording.",))
    model = _model(settings.delivery_model)
    span = (round(speech_span[0], 3), round(speech_span[1], 3))
    words_ok = transcript is None or trusted_words(transcript)
    reasons = (_acoustic_reasons(tone, pace, baseline, settings, model, span)
               + _pace_reasons(pace, baseline, transcript, speaking_time_s, settings)
               + _turn_reasons(turn, talk_overs, settings)
               + (_language_reasons(cues, settings) if words_ok else []))
    totals = {style: getattr(model.prior, style) for style in STYLES}
    for r in reasons:
        totals[r.style] += r.contribution
    scores = StyleScores(*(round(totals[style], 3) for style in STYLES))
    label = max(("assertive", "aggressive", "passive"), key=lambda style: totals[style])  # ties: assertive
    top = max(totals.values())
    confidence = 1.0 / sum(math.exp(v - top) for v in totals.values())
    notes = []
    if baseline is None:
        notes.append("No baseline recording: loudness is compared with a default level and pitch level, effort, "
                     "voice quality and pace are not judged.")
    elif tone.h1_a3_db is not None and baseline.band_hz is None:
        notes.append(f"The baseline {baseline.source} was measured before voice quality was: record a new "
                     "calibration read to have tension and brightness judged too.")
    elif tone.h1_a3_db is not None and not same_band(tone.band_hz, baseline.band_hz):
        notes.append(f"This recording reaches {tone.band_hz / 1000:g} kHz and the baseline {baseline.source} "
                     f"{baseline.band_hz / 1000:g} kHz (a telephone line against a headset?): tension and "
                     "brightness are not compared.")
    if transcript is not None and not words_ok and transcript.words:
        notes.append("The words come from the rough fallback recogniser: shown, but not used for the verdict.")
    reasons.sort(key=lambda r: (r.style != label, -r.contribution))
    return Verdict(label, scores, tuple(reasons), tuple(notes), confidence=round(confidence, 3),
                   prior=model.prior)


def flags_for(verdict: Verdict, cues: tuple[CueMatch, ...]) -> tuple[Flag, ...]:
    """Time-stamped flags for the report: every reason against the assertive style, plus assertive cues as
    positive notes."""
    flags = []
    for r in verdict.reasons:
        if r.style == "assertive":
            flags.append(Flag(r.cue, "info", r.start, r.end, r.message))
            continue
        severity = "problem" if r.contribution >= 1.5 or r.cue == "interruption" else "warning"
        flags.append(Flag(r.cue, severity, r.start, r.end, r.message))
    flags.sort(key=lambda f: (f.start is None, f.start or 0.0))
    return tuple(flags)


def normal_band(measure: str, settings: Settings) -> tuple[float, float]:
    """The range of a measure's difference from the baseline inside which no cue fires (for charts); a ratio
    range for ``rate``.

    >>> from voicerehearse.settings import load_settings
    >>> s = load_settings()
    >>> normal_band("loudness", s) == (-s.cue_threshold_spreads * s.loudness_spread_db, s.cue_threshold_spreads * s.loudness_spread_db)
    True
    """
    cue = next(c for c in ACOUSTIC_CUES if c.measure == measure and c.direction > 0)
    k = settings.cue_threshold_spreads
    spread = getattr(settings, cue.spread_setting)
    if measure == "rate":
        return (round((1 + spread / 100) ** -k, 3), round((1 + spread / 100) ** k, 3))
    return (-k * spread, k * spread)
