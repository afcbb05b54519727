"""Wires the stages for one recording: audio -> (transcript) -> analysis -> delivery. Computes nothing itself.

>>> import numpy as np, soundfile as sf, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "silence.wav")
>>> sf.write(path, np.zeros(16000), 16000)
>>> analyze_file(path).delivery.label
'no speech'
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from voicerehearse.analysis import overlap
from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.analysis.lexicon import find_cues
from voicerehearse.analysis.pace import pace_metrics, syllable_nuclei
from voicerehearse.analysis.tone import measure_voice, tone_metrics
from voicerehearse.audio.io import load_audio
from voicerehearse.delivery import flags_for, judge
from voicerehearse.errors import BaselineError, ConfigError, TranscriptFormatError
from voicerehearse.settings import load_settings
from voicerehearse.types import Analysis, Audio, Baseline, Interruption, Transcript


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
            raise ConfigError(f"--stereo expects 'agent=N,customer=M', got {text!r}") from None
        if pairs or layout.agent == layout.customer or min(layout.agent, layout.customer) < 0:
            raise ConfigError(f"--stereo expects two different channels for agent and customer, got {text!r}")
        return layout


def _voice(framed, settings, mask=None):
    """Speech activity, voice measures and syllable nuclei of one framed signal, and whether it holds a voice at
    all (speech with enough pitched frames), not just sound."""
    activity = speech_activity(framed, settings, mask=mask)
    voice = measure_voice(framed, activity, settings)
    nuclei = syllable_nuclei(framed, activity, voice.track, settings)
    voiced = voice.voiced_fraction is not None and voice.voiced_fraction >= settings.min_voiced_fraction
    return activity, voice, nuclei, activity.has_speech and voiced


def measure_baseline(path: str | os.PathLike, settings=None) -> Baseline:
    """The trainee's neutral reference from a calibration read; raises BaselineError when it holds no speech."""
    settings = settings or load_settings()
    return baseline_from_audio(load_audio(path, settings=settings), Path(path).name, settings)


def baseline_from_audio(audio: Audio, source: str, settings=None) -> Baseline:
    """:func:`measure_baseline` for audio already in memory."""
    settings = settings or load_settings()
    framed = framed_from_settings(audio.samples, audio.sample_rate, settings)
    activity, voice, nuclei, has_voice = _voice(framed, settings)
    if not has_voice:
        raise BaselineError(f"{source}: the baseline recording holds no speech")
    pace = pace_metrics(nuclei, activity, None)
    return Baseline(voice.loudness_db, voice.pitch_median_hz, voice.pitch_sd_st, voice.alpha_ratio_db,
                    pace.articulation_rate, source)


def analyze_audio(
    audio: Audio,
    *,
    settings=None,
    baseline: Baseline | None = None,
    transcript: Transcript | None = None,
    prompt: Audio | None = None,
    prompt_start_s: float = 0.0,
    stereo: StereoLayout | None = None,
) -> Analysis:
    """Analyse validated audio. With ``stereo`` the agent channel is judged and both sides timed;
    with ``prompt`` the reply is timed against the customer's line and its bleed removed."""
    settings = settings or load_settings()
    _check_inputs(audio, prompt, prompt_start_s, transcript)
    channels = audio.source_channels
    stereo_metrics = None
    main = audio
    if stereo is not None:
        if audio.samples.ndim != 2 or max(stereo.agent, stereo.customer) >= audio.samples.shape[0]:
            raise ConfigError(
                f"{audio.path}: --stereo needs channels {stereo.agent} and {stereo.customer}, the file has {channels}"
            )
        main = audio.channel(stereo.agent)
    elif audio.samples.ndim == 2:
        main = Audio(audio.samples.mean(axis=0), audio.sample_rate, audio.source_sample_rate, channels, audio.path)

    framed = framed_from_settings(main.samples, main.sample_rate, settings)
    mask = bleed = None
    if prompt is not None:
        bleed = overlap.estimate_bleed(framed, prompt.samples, prompt_start_s, settings)
        mask = overlap.trainee_mask(framed, bleed, settings)
    activity, voice, nuclei, has_voice = _voice(framed, settings, mask)
    turn = None
    if prompt is not None:
        turn = overlap.turn_timing(framed, activity, prompt.samples, prompt_start_s, bleed, settings)
    if stereo is not None:
        customer = audio.channel(stereo.customer)
        c_framed = framed_from_settings(customer.samples, customer.sample_rate, settings)
        stereo_metrics = overlap.stereo_metrics(
            {"agent": (stereo.agent, activity), "customer": (stereo.customer, speech_activity(c_framed, settings))},
            settings,
        )
    if transcript is not None and (prompt is not None or stereo is not None):
        transcript = overlap.words_in_speech(transcript, activity.segments)  # drop what the customer said
    pace = pace_metrics(nuclei, activity, transcript)
    tone = tone_metrics(voice, baseline, settings)
    cues = find_cues(transcript.words) if transcript else ()
    span = (activity.segments[0].start, activity.segments[-1].end) if has_voice else None
    talk_overs = ()
    if stereo_metrics is not None:  # in a call recording the agent's talk-overs are interruptions of the customer
        talk_overs = tuple(Interruption(o.start, o.end, o.duration_s)
                           for o in stereo_metrics.talk_overs if o.interrupter == "agent")
    verdict = judge(tone=tone, pace=pace, turn=turn, cues=cues, baseline=baseline, speech_span=span,
                    settings=settings, talk_overs=talk_overs)
    return Analysis(
        file=audio.path or "",
        duration_s=round(audio.duration_s, 4),
        sample_rate=audio.source_sample_rate,
        channels=channels,
        transcript=transcript,
        speech=activity,
        pace=pace,
        tone=tone,
        turn=turn,
        stereo=stereo_metrics,
        cues=cues,
        delivery=verdict,
        flags=flags_for(verdict, cues),
    )


def _check_inputs(audio: Audio, prompt: Audio | None, prompt_start_s: float, transcript: Transcript | None) -> None:
    name = audio.path or "audio"
    if not math.isfinite(prompt_start_s) or prompt_start_s < 0:
        raise ConfigError(f"--prompt-start must be a time >= 0 s, got {prompt_start_s:g}")
    if prompt is not None and prompt_start_s >= audio.duration_s:
        raise ConfigError(f"{name}: --prompt-start {prompt_start_s:g} s is past the end of the "
                          f"{audio.duration_s:.2f} s recording")
    if transcript is not None and transcript.timed:
        last = max(w.end for w in transcript.words)
        if last > audio.duration_s + 0.25:
            raise TranscriptFormatError(f"{name}: the transcript's words run to {last:.2f} s, past the end of "
                                        f"the {audio.duration_s:.2f} s recording")


def analyze_file(
    path: str | os.PathLike,
    *,
    settings=None,
    baseline: Baseline | None = None,
    transcript: Transcript | None = None,
    prompt_path: str | os.PathLike | None = None,
    prompt_start_s: float = 0.0,
    stereo: StereoLayout | None = None,
) -> Analysis:
    """Load ``path`` (and the prompt), then :func:`analyze_audio`. Raises VoiceRehearseError subclasses on bad input."""
    settings = settings or load_settings()
    audio = load_audio(path, settings=settings, keep_channels=stereo is not None)
    prompt = load_audio(prompt_path, settings=settings) if prompt_path is not None else None
    return analyze_audio(audio, settings=settings, baseline=baseline, transcript=transcript, prompt=prompt,
                         prompt_start_s=prompt_start_s, stereo=stereo)



def merge_baselines(baselines: list[Baseline], source: str) -> Baseline:
    """Median of each measure over several calibration reads (missing values ignored)."""
    import statistics

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    fields = ("loudness_db", "pitch_median_hz", "pitch_sd_st", "alpha_ratio_db", "articulation_rate")
    return Baseline(*(med([getattr(b, f) for b in baselines]) for f in fields), source)
