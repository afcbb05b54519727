"""Wires the stages for one recording: audio -> (transcript) -> analysis -> delivery. Computes nothing itself.

>>> import numpy as np, soundfile as sf, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "silence.wav")
>>> sf.write(path, np.zeros(16000), 16000)
>>> analyze_file(path).delivery.label
'no speech'
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

from voicerehearse.analysis import overlap
from voicerehearse.analysis.frames import (Downmix, Framed, InMemory, Signal, frame_channels, frame_lengths,
                                          speech_activity)
from voicerehearse.analysis.lexicon import find_cues
from voicerehearse.analysis.pace import pace_metrics, syllable_nuclei
from voicerehearse.analysis.tone import VoiceMeasures, measure_voice, tone_metrics
from voicerehearse.audio.io import AudioStream, load_audio, open_audio
from voicerehearse.delivery import flags_for, judge
from voicerehearse.errors import BaselineError, ConfigError, TranscriptFormatError
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.types import (BASELINE_MEASURES, Analysis, Audio, Baseline, Interruption, StereoMetrics,
                                 StyleScores, ToneMetrics, Transcript, Verdict)


@dataclass(frozen=True)
class StereoLayout:
    """Which channel carries which side of a two-channel call recording."""

    agent: int
    customer: int

    @classmethod
    def parse(cls, text: str) -> "StereoLayout":
        """``StereoLayout.parse("agent=0,customer=1")``; raises ConfigError on anything else."""
        try:
            pairs = dict(part.split("=", 1) for part in text.replace(" ", "").split(","))
            layout = cls(int(pairs.pop("agent")), int(pairs.pop("customer")))
        except (ValueError, KeyError):
            raise ConfigError(f"a stereo layout is written 'agent=N,customer=M', got {text!r}", field="stereo") from None
        if pairs or layout.agent == layout.customer or min(layout.agent, layout.customer) < 0:
            raise ConfigError(f"a stereo layout needs two different channels for agent and customer, got {text!r}",
                              field="stereo")
        return layout


def _band_hz(audio: Audio | AudioStream, settings: Settings) -> float:
    """The recording's upper frequency limit: half the lower of its own and the analysis sample rate."""
    return min(audio.source_sample_rate, settings.analysis_sample_rate_hz) / 2


def _voice(framed: Framed, settings: Settings, *, band_hz: float, mask=None):
    """Speech activity, voice measures and syllable nuclei of one framed signal, and whether it holds a voice at
    all (speech with enough pitched frames), not just sound."""
    activity = speech_activity(framed, settings, mask=mask)
    voice = measure_voice(framed, activity, settings, band_hz=band_hz)
    nuclei = syllable_nuclei(framed, activity=activity, track=voice.track, settings=settings)
    voiced = voice.voiced_fraction is not None and voice.voiced_fraction >= settings.min_voiced_fraction
    return activity, voice, nuclei, activity.has_speech and voiced


def _signal(audio: Audio | AudioStream) -> tuple[Signal, int]:
    """The samples of ``audio`` as a :class:`Signal` (read in place: in memory, or from the file block by block),
    and how many channel rows it has."""
    if isinstance(audio, AudioStream):
        return audio, audio.channels
    return InMemory(audio.samples), (audio.samples.shape[0] if audio.samples.ndim == 2 else 1)


def _framed(audio: Audio | AudioStream, settings: Settings, stereo: "StereoLayout | None" = None) -> tuple[Framed, ...]:
    """The frames of the analysed channel (the agent's with ``stereo``, else the mix), and the customer's with
    ``stereo``: one pass over the samples."""
    signal, rows = _signal(audio)
    if stereo is not None:
        if rows < 2 or max(stereo.agent, stereo.customer) >= rows:
            raise ConfigError(
                f"{audio.path}: the stereo layout needs channels {stereo.agent} and {stereo.customer}, "
                f"the file has {audio.source_channels}", field="stereo")
        channels = (stereo.agent, stereo.customer)
    else:
        signal, channels = (Downmix(signal) if rows > 1 else signal), (0,)
    frame_length, hop_length = frame_lengths(audio.sample_rate, settings)
    return frame_channels(signal, sr=audio.sample_rate, frame_length=frame_length, hop_length=hop_length,
                          channels=channels)


def measure_baseline(path: str | os.PathLike, settings: Settings = DEFAULTS) -> Baseline:
    """The trainee's neutral reference from a calibration read; raises BaselineError when it holds no speech."""
    return baseline_from_audio(open_audio(path, settings=settings), Path(path).name, settings)


def _baseline(voice: VoiceMeasures | ToneMetrics, articulation_rate: float | None, source: str) -> Baseline:
    """A :class:`Baseline` of the tone measures ``voice`` (raw or as an analysis reports them) and the pace."""
    return Baseline(source=source, articulation_rate=articulation_rate,
                    **{f: getattr(voice, f) for f in BASELINE_MEASURES if f != "articulation_rate"})


def baseline_from_analysis(analysis: Analysis, source: str) -> Baseline:
    """The measures of an analysed neutral read as a :class:`Baseline` (what :func:`baseline_from_audio` gives)."""
    return _baseline(analysis.tone, analysis.pace.articulation_rate, source)


def baseline_from_audio(audio: Audio | AudioStream, source: str, settings: Settings = DEFAULTS) -> Baseline:
    """:func:`measure_baseline` for audio already in memory (or a file opened with :func:`open_audio`)."""
    (framed,) = _framed(audio, settings)
    activity, voice, nuclei, has_voice = _voice(framed, settings, band_hz=_band_hz(audio, settings))
    if not has_voice:
        raise BaselineError(f"{source}: the baseline recording holds no speech")
    return _baseline(voice, pace_metrics(nuclei, activity=activity, transcript=None).articulation_rate, source)


def analyze_audio(
    audio: Audio | AudioStream,
    *,
    settings: Settings = DEFAULTS,
    baseline: Baseline | None = None,
    transcript: Transcript | None = None,
    prompt: Audio | None = None,
    prompt_start_s: float = 0.0,
    stereo: StereoLayout | None = None,
) -> Analysis:
    """Analyse validated audio. With ``stereo`` the agent channel is judged and both sides timed;
    with ``prompt`` the reply is timed against the customer's line and its bleed removed.

    ``audio`` is samples in memory (:class:`Audio`) or a file read block by block (:class:`AudioStream`, what
    :func:`analyze_file` uses): the same computation either way, so the same figures, and over a stream the
    memory does not grow with the length. The samples are read twice, block by block: for the frame power,
    then for the pitch and spectra of the speech frames; every other measure works on the per-frame arrays.
    """
    _check_inputs(audio, prompt, prompt_start_s, transcript)
    framed, *other = _framed(audio, settings, stereo)
    mask = bleed = customer_mask = None
    if stereo is not None:
        mask, customer_mask = overlap.call_speech_masks(framed, other[0], settings, name=audio.path or "the call")
    if prompt is not None:
        bleed = overlap.estimate_bleed(framed, prompt=prompt.samples, prompt_start_s=prompt_start_s, settings=settings)
        own = overlap.trainee_mask(framed, bleed=bleed, settings=settings)
        mask = own if mask is None else mask & own
    activity, voice, nuclei, has_voice = _voice(framed, settings, band_hz=_band_hz(audio, settings), mask=mask)
    turn = stereo_metrics = None
    if prompt is not None:
        turn = overlap.turn_timing(framed, activity=activity, prompt=prompt.samples, prompt_start_s=prompt_start_s,
                                   bleed=bleed, settings=settings)
    if stereo is not None:
        stereo_metrics = overlap.stereo_metrics(
            {"agent": (stereo.agent, activity),
             "customer": (stereo.customer, speech_activity(other[0], settings, mask=customer_mask))},
            settings=settings,
        )
    if transcript is not None and (prompt is not None or stereo is not None):
        transcript = overlap.words_in_speech(transcript, activity.segments)  # drop what the customer said
    pace = pace_metrics(nuclei, activity=activity, transcript=transcript,  # a call: the agent's own turns only
                        turn_gap_s=settings.monologue_gap_s if stereo is not None else None)
    tone = tone_metrics(voice, baseline=baseline, settings=settings)
    cues = find_cues(transcript.words) if transcript else ()
    measured = Analysis(
        file=audio.path or "",
        duration_s=round(framed.duration_s, 4),
        sample_rate=audio.source_sample_rate,
        channels=audio.source_channels,
        transcript=transcript,
        speech=activity,
        pace=pace,
        tone=tone,
        turn=turn,
        stereo=stereo_metrics,
        cues=cues,
        delivery=_NOT_JUDGED,
        flags=(),
        truncated=audio.truncated,
    )
    return _judged(measured, baseline, settings, has_voice=has_voice)


_NOT_JUDGED = Verdict("no speech", StyleScores(0.0, 0.0, 0.0), ())


def _judged(analysis: Analysis, baseline: Baseline | None, settings: Settings, *, has_voice: bool) -> Analysis:
    speech = analysis.speech
    span = (speech.segments[0].start, speech.segments[-1].end) if has_voice else None
    talk_overs = agent_takeovers(analysis.stereo, settings) if analysis.stereo is not None else ()
    verdict = judge(tone=analysis.tone, pace=analysis.pace, turn=analysis.turn, cues=analysis.cues, baseline=baseline,
                    speech_span=span, settings=settings, talk_overs=talk_overs,
                    transcript=analysis.transcript, speaking_time_s=speech.speaking_time_s)
    return dataclasses.replace(analysis, delivery=verdict, flags=flags_for(verdict, analysis.cues))


def _containing(segments, t: float):
    return next((seg for seg in segments if seg.start - 1e-6 <= t <= seg.end + 1e-6), None)


def agent_takeovers(stereo: StereoMetrics, settings: Settings) -> tuple[Interruption, ...]:
    """The agent's talk-overs in a call that are interruptions, not the everyday overlaps of a conversation:

    - at a turn change (the customer stops while the agent speaks) an overlap shorter than
      ``call_overlap_min_s`` is a natural hand-over, not a barge-in;
    - a short agent burst (under ``backchannel_max_s``) while the customer keeps talking is a backchannel
      ("mm-hmm", "okay").

    >>> from voicerehearse.types import SideMetrics, Span, TalkOver
    >>> s = DEFAULTS
    >>> sides = (SideMetrics("agent", 0, 3.0, 0.5, 2.0, (Span(0.0, 0.5), Span(4.6, 7.0))),
    ...          SideMetrics("customer", 1, 3.0, 0.5, 4.0, (Span(0.2, 5.0),)))
    >>> overs = (TalkOver(0.2, 0.5, 0.3, "agent", "customer"), TalkOver(4.6, 5.0, 0.4, "agent", "customer"))
    >>> agent_takeovers(StereoMetrics(sides, overs, None, None), s)
    ()
    """
    segs = {side.side: side.segments for side in stereo.sides}
    out = []
    for o in stereo.talk_overs:
        if o.interrupter != "agent":
            continue
        mine, theirs = _containing(segs.get("agent", ()), o.start), _containing(segs.get(o.interrupted, ()), o.start)
        if mine is not None and theirs is not None:
            if theirs.end <= mine.end + 1e-6:  # they stopped while the agent went on: a hand-over or a takeover
                if o.duration_s < settings.call_overlap_min_s:
                    continue
            elif mine.end - mine.start < settings.backchannel_max_s:  # they went on: the agent only chimed in
                continue
        out.append(Interruption(o.start, o.end, o.duration_s))
    return tuple(out)


def rejudge(analysis: Analysis, baseline: Baseline | None, settings: Settings = DEFAULTS) -> Analysis:
    """The same recording judged against another baseline, without measuring it again.

    >>> import numpy as np
    >>> from voicerehearse.audio.io import from_array
    >>> t = np.arange(32000) / 16000
    >>> y = (0.1 * np.sin(2 * np.pi * 180 * t) * np.sin(np.pi * 4 * t) ** 2).astype(np.float32)
    >>> a = analyze_audio(from_array(y, 16000))
    >>> b = Baseline(a.tone.loudness_db, a.tone.pitch_median_hz, a.tone.pitch_sd_st, a.tone.alpha_ratio_db,
    ...              a.pace.articulation_rate, "self")
    >>> rejudge(a, b).tone.loudness_delta_db
    0.0
    """
    t = analysis.tone
    voice = VoiceMeasures(t.loudness_db, t.pitch_median_hz, t.pitch_sd_st, t.alpha_ratio_db, t.voiced_fraction,
                          track=None, segments=t.segments, h1_a3_db=t.h1_a3_db, brightness_db=t.brightness_db,
                          band_hz=t.band_hz)
    rebased = dataclasses.replace(analysis, tone=tone_metrics(voice, baseline=baseline, settings=settings))
    return _judged(rebased, baseline, settings, has_voice=analysis.delivery.label != "no speech")


def _check_inputs(audio: Audio | AudioStream, prompt: Audio | None, prompt_start_s: float,
                  transcript: Transcript | None) -> None:
    name = audio.path or "audio"
    if not math.isfinite(prompt_start_s) or prompt_start_s < 0:
        raise ConfigError(f"the customer's line must start at a time >= 0 s, got {prompt_start_s:g}", field="prompt_start")
    if prompt is not None and prompt_start_s >= audio.duration_s:
        raise ConfigError(f"{name}: the customer's line starts at {prompt_start_s:g} s, past the end of the "
                          f"{audio.duration_s:.2f} s recording", field="prompt_start")
    if transcript is not None and transcript.timed:
        last = max(w.end for w in transcript.words)
        if last > audio.duration_s + 0.25:
            raise TranscriptFormatError(f"{name}: the transcript's words run to {last:.2f} s, past the end of "
                                        f"the {audio.duration_s:.2f} s recording")


def analyze_file(
    path: str | os.PathLike,
    *,
    settings: Settings = DEFAULTS,
    baseline: Baseline | None = None,
    transcript: Transcript | None = None,
    prompt_path: str | os.PathLike | None = None,
    prompt_start_s: float = 0.0,
    stereo: StereoLayout | None = None,
) -> Analysis:
    """Open ``path`` (and load the prompt), then :func:`analyze_audio` over the file read block by block, so a
    3-hour call takes a few blocks of memory. Raises VoiceRehearseError subclasses on bad input."""
    audio = open_audio(path, settings=settings, keep_channels=stereo is not None)
    prompt = load_audio(prompt_path, settings=settings) if prompt_path is not None else None
    return analyze_audio(audio, settings=settings, baseline=baseline, transcript=transcript, prompt=prompt,
                         prompt_start_s=prompt_start_s, stereo=stereo)



def merge_baselines(baselines: list[Baseline], source: str) -> Baseline:
    """Median of each measure over several calibration reads (missing values ignored)."""
    import statistics

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    return Baseline(source=source, **{f: med([getattr(b, f) for b in baselines]) for f in BASELINE_MEASURES})
