"""Every threshold and option, declared once: name (unit in the name), default, help.

The CLI help, the TOML config loader, ``voicerehearse settings`` and the docs test all read :data:`SETTINGS`.

>>> s = load_settings()
>>> s.min_pause_s
0.25
>>> load_settings(overrides={"min_pause_s": 0.3}).min_pause_s
0.3
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicerehearse.errors import ConfigError

CONFIG_ENV = "VOICEREHEARSE_CONFIG"


@dataclass(frozen=True)
class Setting:
    name: str  # snake_case, unit suffix where it has one (_s, _db, _st, _hz, _wpm ...)
    default: Any  # int, float, str or bool; the type is enforced when loading
    section: str  # grouping for `voicerehearse settings` and TOML tables
    help: str  # one line, shown by `voicerehearse settings`


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # --- audio in
    S("analysis_sample_rate_hz", 16000, "audio", "Every input is resampled to this rate before analysis."),
    S("min_duration_s", 0.3, "audio", "Shorter inputs are rejected as too short to judge."),
    S("max_duration_s", 7200.0, "audio", "Longer inputs are rejected (guards memory on huge files)."),
    S("min_sample_rate_hz", 4000, "audio", "Files declaring a lower sample rate are rejected before decoding."),
    S("max_sample_rate_hz", 384000, "audio", "Files declaring a higher sample rate are rejected before decoding."),
    S("max_channel_count", 16, "audio", "Files with more channels are rejected before decoding."),
    S("max_decoded_sample_count", 1_000_000_000, "audio", "Files whose duration x rate x channels exceeds this are rejected before decoding."),
    # --- framing and speech activity (de Jong & Wempe style)
    S("frame_length_s", 0.032, "activity", "Analysis window for level and spectrum."),
    S("hop_s", 0.010, "activity", "Step between analysis frames: the time resolution of every span."),
    S("silence_below_peak_db", 25.0, "activity", "Frames this far below the loud end (99th percentile) of the file are silence."),
    S("noise_margin_db", 6.0, "activity", "In a noisy room, speech must also be this far above the noise floor (5th percentile)."),
    S("speech_floor_dbfs", -55.0, "activity", "Frames quieter than this are never speech (all-silent files give 'no speech')."),
    S("min_pause_s", 0.25, "activity", "Silences shorter than this inside speech are not pauses."),
    S("min_voiced_fraction", 0.1, "activity", "Sound with fewer pitched frames than this share is noise, not a voice ('no speech')."),
    S("min_speech_segment_s", 0.06, "activity", "Speech bursts shorter than this are ignored as clicks."),
    # --- pitch
    S("pitch_min_hz", 65.0, "pitch", "Lowest fundamental frequency tracked."),
    S("pitch_max_hz", 600.0, "pitch", "Highest fundamental frequency tracked."),
    S("pitch_window_s", 0.025, "pitch", "Integration window of the YIN difference function."),
    S("pitch_aperiodicity_max", 0.25, "pitch", "A frame is voiced when its YIN aperiodicity is below this."),
    S("pitch_outlier_st", 10.0, "pitch", "Pitch values further than this from the median are octave errors and dropped."),
    # --- pace
    S("syllable_min_dip_db", 2.0, "pace", "Level dip needed between two syllable nuclei."),
    S("syllable_smoothing_s", 0.05, "pace", "Length of the smoothing applied to the level contour before peak picking."),
    # --- turn timing against a customer prompt
    S("prompt_end_below_peak_db", 30.0, "turn", "The customer's line ends at its last frame within this of its loudest, found on the clean prompt."),
    S("barge_in_min_s", 0.2, "turn", "Reply speech during the customer's line must last this long to count as an interruption."),
    S("bleed_margin_db", 8.0, "turn", "Mic level must exceed the predicted prompt bleed by this much to count as the trainee."),
    S("bleed_max_delay_s", 0.5, "turn", "Longest acoustic delay searched between prompt playback and the mic."),
    S("bleed_min_correlation", 0.1, "turn", "Below this normalised correlation the prompt is taken as not heard by the mic."),
    # --- two-channel calls
    S("monologue_gap_s", 1.5, "stereo", "Gaps shorter than this (with no reply from the other side) keep a monologue going."),
    # --- verdict: tone and pace relative to the baseline, in units of normal variation
    S("loudness_spread_db", 2.18, "verdict", "Normal loudness difference between two neutral sentences of one speaker (one spread)."),
    S("pitch_spread_st", 2.48, "verdict", "Normal difference of median pitch between two neutral sentences of one speaker."),
    S("pitch_sd_spread_st", 0.92, "verdict", "Normal difference of pitch variation (SD) between two neutral sentences of one speaker."),
    S("effort_spread_db", 3.44, "verdict", "Normal difference of vocal effort (alpha ratio) between two neutral sentences of one speaker."),
    S("articulation_spread_pct", 27.3, "verdict", "Normal difference of articulation rate between two neutral sentences of one speaker."),
    S("cue_threshold_spreads", 0.5, "verdict", "A tone or pace cue counts only this many spreads away from the baseline, then by how far past."),
    S("default_loudness_dbfs", -26.0, "verdict", "Reference speech level used when no baseline recording is given."),
    S("default_loudness_spread_db", 6.0, "verdict", "Loudness spread without a baseline (mic gain is unknown, so it is wide)."),
    S("default_pitch_sd_st", 2.0, "verdict", "Reference pitch variation used when no baseline recording is given."),
    S("delivery_model", "", "verdict", "TOML file of fitted cue weights ('' = the bundled delivery_model.toml)."),
    # --- verdict: words, pace and timing
    S("language_cue_score", 1.5, "verdict", "Score an aggressive or passive phrase (or repeated apologies) adds to its style."),
    S("assertive_phrase_score", 0.5, "verdict", "Score an assertive phrase (empathy, ownership, next step, open question) adds."),
    S("repeated_apology_count", 2, "verdict", "This many apologies in one reply is over-apologising (passive cue)."),
    S("rushed_wpm", 160.0, "verdict", "Words per minute above this is rushed (only without a baseline and from trusted words)."),
    S("slow_wpm", 100.0, "verdict", "Words per minute below this is slow (only without a baseline and from trusted words)."),
    S("wpm_score_step_wpm", 20.0, "verdict", "Each this many words per minute past rushed_wpm / slow_wpm adds 1 to the score."),
    S("wpm_min_words", 8, "verdict", "Words per minute is judged only from at least this many words..."),
    S("wpm_min_speech_s", 3.0, "verdict", "...and at least this much speech."),
    S("interruption_score", 2.0, "verdict", "Score talking over the customer adds to 'aggressive' at barge_in_min_s..."),
    S("interruption_score_per_s", 1.0, "verdict", "...plus this much per second of overlap..."),
    S("interruption_score_max", 4.0, "verdict", "...up to this much per interruption."),
    S("long_latency_s", 2.0, "verdict", "A reply starting this long after the customer stops is hesitant (passive cue)."),
    S("latency_score", 0.5, "verdict", "Score a long wait adds to 'passive' at long_latency_s..."),
    S("latency_score_per_s", 0.75, "verdict", "...plus this much per second longer."),
    # --- live capture (practice)
    S("reply_end_silence_s", 1.2, "capture", "A reply is over after this much silence following speech (or a key press)."),
    S("reply_max_s", 120.0, "capture", "Longest reply recorded after the customer's line ends."),
    S("no_reply_s", 12.0, "capture", "With no reply this long after the customer's line ends, the take stops."),
    S("reply_speech_level_dbfs", -42.0, "capture", "Live end-of-reply detection: blocks louder than this are speech."),
    S("reply_min_speech_s", 0.15, "capture", "Louder blocks must last this long to count as the reply starting."),
    S("bleed_tail_s", 0.4, "capture", "With speakers, sound this soon after the customer's line may be its echo."),
    S("prompt_lead_in_s", 0.3, "capture", "Recorded silence before the customer's line starts in each take."),
    # --- transcription
    S("vosk_model", "", "transcription", "Path of a Vosk model folder (after --model and VOICEREHEARSE_VOSK_MODEL)."),
    # --- storage
    S("data_dir", "", "store", "Where the database and audio live ('' = $VOICEREHEARSE_DATA_DIR or the user data dir)."),
    S("database_url", "", "store", "SQLAlchemy URL of the database ('' = SQLite file in data_dir; e.g. postgresql://...)."),
    S("min_password_length", 10, "store", "Shortest password `voicerehearse users add` / `users passwd` accept for a web login."),
)
del S

_BY_NAME = {s.name: s for s in SETTINGS}

Settings = dataclasses.make_dataclass(
    "Settings",
    [(s.name, type(s.default), dataclasses.field(default=s.default)) for s in SETTINGS],
    frozen=True,
)
Settings.__module__ = __name__
Settings.__doc__ = "Resolved values of every :data:`SETTINGS` entry (frozen). Build with :func:`load_settings`."


def _coerce(setting: Setting, value: Any) -> Any:
    kind = type(setting.default)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, str):
        return value
    raise ConfigError(f"setting {setting.name!r} must be {kind.__name__}, got {value!r}")


def _flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):  # [section] tables are allowed and only group keys
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat


def load_settings(path: str | os.PathLike | None = None, overrides: Mapping[str, Any] | None = None) -> Any:
    """Defaults, then the TOML file (``path`` or ``$VOICEREHEARSE_CONFIG``), then ``overrides``.

    Unknown names and wrong types raise :class:`ConfigError`.
    """
    values: dict[str, Any] = {}
    path = path or os.environ.get(CONFIG_ENV) or None
    if path is not None:
        try:
            values.update(_flatten(tomllib.loads(Path(path).read_text(encoding="utf-8"))))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    values.update(overrides or {})
    resolved = {}
    for name, value in values.items():
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r} (see `voicerehearse settings`)")
        resolved[name] = _coerce(_BY_NAME[name], value)
    return Settings(**resolved)


def describe(name: str) -> Setting:
    """The declaration of one setting; raises ConfigError for unknown names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting {name!r}") from None
