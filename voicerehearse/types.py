"""Frozen dataclasses passed between pipeline stages. Times are seconds from the start of the recording."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class Audio:
    """Validated audio at the analysis rate.

    ``samples`` is float32 in [-1, 1], shape (n,) for mono or (channels, n) when channels are kept apart.
    """

    samples: np.ndarray = field(repr=False)
    sample_rate: int  # analysis rate (after resampling)
    source_sample_rate: int  # rate of the file as read
    source_channels: int  # channel count of the file as read
    path: str | None = None
    truncated: bool = False  # the file was cut short: only the part that decoded is here

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sample_rate

    def channel(self, index: int) -> "Audio":
        """One channel of a multi-channel Audio as mono."""
        if self.samples.ndim == 1:
            if index != 0:
                raise IndexError(index)
            return self
        return Audio(self.samples[index], self.sample_rate, self.source_sample_rate, 1, self.path)


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class PauseStats:
    count: int
    mean_s: float | None
    longest_s: float | None


@dataclass(frozen=True)
class SpeechActivity:
    segments: tuple[Span, ...]
    speaking_time_s: float
    pauses: PauseStats
    threshold_dbfs: float  # level above which a frame counted as speech

    @property
    def has_speech(self) -> bool:
        return bool(self.segments)


@dataclass(frozen=True)
class Word:
    word: str
    start: float | None  # None for plain-text transcripts
    end: float | None
    conf: float | None = None


@dataclass(frozen=True)
class Transcript:
    engine: str  # "vosk", "pocketsphinx", "file"
    model: str | None
    text: str
    words: tuple[Word, ...]
    note: str | None = None  # e.g. the rough-fallback label shown to users

    @property
    def rough(self) -> bool:
        """Words from the rough fallback recogniser: shown (labelled), never used to judge."""
        from voicerehearse.transcribe.names import ROUGH

        return self.engine in ROUGH

    @property
    def timed(self) -> bool:
        return bool(self.words) and all(w.start is not None for w in self.words)


@dataclass(frozen=True)
class PaceMetrics:
    words_per_minute: float | None  # None without a transcript
    syllables_per_second: float | None  # syllable nuclei / (first speech start .. last speech end)
    articulation_rate: float | None  # syllable nuclei / speaking time (pauses excluded)
    syllable_count: int
    word_count: int | None


@dataclass(frozen=True)
class Baseline:
    """The trainee's neutral reference, measured on a calibration read."""

    loudness_db: float | None
    pitch_median_hz: float | None
    pitch_sd_st: float | None
    alpha_ratio_db: float | None
    articulation_rate: float | None
    source: str  # file name, or "absolute defaults"
    h1_a3_db: float | None = None  # voice quality (None in baselines stored before it was measured)
    brightness_db: float | None = None
    band_hz: float | None = None  # the read's upper frequency limit (half its own sample rate)


# the measures a Baseline holds (every field but ``source``): stored, merged and compared by these names
BASELINE_MEASURES = tuple(f.name for f in fields(Baseline) if f.name != "source")


@dataclass(frozen=True)
class SegmentTone:
    """Level and pitch of one speech segment: the tone over time."""

    start: float
    end: float
    loudness_db: float
    pitch_median_hz: float | None


@dataclass(frozen=True)
class ToneMetrics:
    loudness_db: float | None  # active-speech level, dBFS
    loudness_delta_db: float | None  # vs baseline (or the default reference level)
    pitch_median_hz: float | None
    pitch_delta_st: float | None  # None without a baseline
    pitch_sd_st: float | None  # variability over voiced frames, semitones
    alpha_ratio_db: float | None  # energy 1-5 kHz over 50 Hz-1 kHz in voiced frames (vocal effort)
    alpha_ratio_delta_db: float | None
    voiced_fraction: float | None  # share of speech frames with a pitch
    baseline: str  # where the reference came from
    baseline_loudness_db: float | None = None  # the reference level (baseline or default)
    baseline_pitch_hz: float | None = None
    segments: tuple[SegmentTone, ...] = ()  # per speech segment, in time order
    h1_a3_db: float | None = None  # first harmonic minus the strongest peak at 2-3.5 kHz (low = tense voice)
    h1_a3_delta_db: float | None = None
    brightness_db: float | None = None  # upper against lower half of the mel spectrum (high = harsh timbre)
    brightness_delta_db: float | None = None
    band_hz: float | None = None  # the recording's upper frequency limit; voice quality compares only within one


@dataclass(frozen=True)
class Interruption:
    start: float
    end: float
    duration_s: float


@dataclass(frozen=True)
class TurnTiming:
    prompt_start_s: float
    prompt_end_s: float  # end of the customer's speech in recording time
    reply_start_s: float | None
    response_latency_s: float | None  # reply start - prompt end (negative when the reply barged in)
    interrupted: bool
    interruptions: tuple[Interruption, ...]
    bleed_detected: bool
    bleed_gain_db: float | None  # level of the prompt as heard by the mic, relative to the prompt file
    bleed_delay_s: float | None


@dataclass(frozen=True)
class TalkOver:
    start: float
    end: float
    duration_s: float
    interrupter: str  # side name, e.g. "agent"
    interrupted: str


@dataclass(frozen=True)
class SideMetrics:
    side: str
    channel: int
    speaking_time_s: float
    talk_ratio: float | None  # share of all speaking time
    longest_monologue_s: float
    segments: tuple[Span, ...]


@dataclass(frozen=True)
class StereoMetrics:
    sides: tuple[SideMetrics, ...]
    talk_overs: tuple[TalkOver, ...]
    patience_s: float | None  # mean gap before the agent answers the customer
    shortest_gap_s: float | None


@dataclass(frozen=True)
class CueMatch:
    category: str  # e.g. "empathy", "ultimatum", "hedge"
    style: str  # the style this cue points to: "assertive", "aggressive" or "passive"
    phrase: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Reason:
    cue: str
    style: str  # the style this reason argues for
    value: float | None
    baseline: float | None
    threshold: float | None
    unit: str
    message: str
    start: float | None
    end: float | None
    weight: float  # kept for older readers: equal to ``contribution``
    contribution: float = 0.0  # what it added to its style's score (scores = prior + contributions)
    phrase: str | None = None  # the words, for a language cue


@dataclass(frozen=True)
class StyleScores:
    aggressive: float
    passive: float
    assertive: float


@dataclass(frozen=True)
class Verdict:
    label: str  # "aggressive" | "passive" | "assertive" | "no speech"
    scores: StyleScores
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...] = ()
    confidence: float | None = None  # 0-1: softmax probability of the label among the three scores
    prior: StyleScores | None = None  # each style's score before any reason (the model's intercepts)


@dataclass(frozen=True)
class Flag:
    kind: str  # cue name, e.g. "interruption", "raised_voice", "ultimatum"
    severity: str  # "info" | "warning" | "problem"
    start: float | None
    end: float | None
    message: str


@dataclass(frozen=True)
class Analysis:
    """Everything `voicerehearse analyze` says about one recording (see schema.py for the JSON form)."""

    file: str
    duration_s: float
    sample_rate: int
    channels: int
    transcript: Transcript | None
    speech: SpeechActivity
    pace: PaceMetrics
    tone: ToneMetrics
    turn: TurnTiming | None
    stereo: StereoMetrics | None
    cues: tuple[CueMatch, ...]
    delivery: Verdict
    flags: tuple[Flag, ...]
    truncated: bool = False  # the file was cut short: only the part that decoded was analysed
