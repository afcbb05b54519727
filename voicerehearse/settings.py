"""Every threshold and option, declared once as a field of :class:`Settings`: name (unit in the name), type,
default, allowed range, section and help. The CLI help, the TOML config loader, ``voicerehearse settings``, the
docs test and the validation all read it; :data:`SETTINGS` is the same table as rows.

>>> s = load_settings()
>>> s.min_pause_s
0.25
>>> load_settings(overrides={"min_pause_s": 0.3}).min_pause_s
0.3
>>> load_settings(overrides={"hop_s": 0})
Traceback (most recent call last):
...
voicerehearse.errors.ConfigError: setting hop_s = 0.0 is out of range: allowed 0.002 to 0.05
"""

from __future__ import annotations

import dataclasses
import math
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
    """One row of the settings table (derived from the :class:`Settings` fields)."""

    name: str  # snake_case, unit suffix where it has one (_s, _db, _st, _hz, _wpm ...)
    default: Any  # int, float, str or bool; the type is enforced when loading
    section: str  # grouping for `voicerehearse settings` and TOML tables
    help: str  # one line, shown by `voicerehearse settings`
    low: float | None = None  # allowed range, inclusive (None: any)
    high: float | None = None


def _s(default, section: str, help: str, low=None, high=None):
    return dataclasses.field(default=default, metadata={"section": section, "help": help, "low": low, "high": high})


@dataclass(frozen=True)
class Settings:
    """Resolved values of every setting (frozen). Build with :func:`load_settings`, once per edge."""

    # --- audio in
    analysis_sample_rate_hz: int = _s(16000, "audio", "Every input is resampled to this rate before analysis.", 8000, 48000)
    min_duration_s: float = _s(0.3, "audio", "Shorter inputs are rejected as too short to judge.", 0.01, 60.0)
    max_duration_s: float = _s(7200.0, "audio", "Longer inputs are rejected (guards memory on huge files).", 1.0, 86400.0)
    min_sample_rate_hz: int = _s(4000, "audio", "Files declaring a lower sample rate are rejected before decoding.", 1, 48000)
    max_sample_rate_hz: int = _s(384000, "audio", "Files declaring a higher sample rate are rejected before decoding.", 8000, 768000)
    max_channel_count: int = _s(16, "audio", "Files with more channels are rejected before decoding.", 1, 256)
    max_decoded_sample_count: int = _s(1_000_000_000, "audio", "Files whose duration x rate x channels exceeds this are rejected before decoding.", 1_000, 100_000_000_000)
    # --- framing and speech activity (de Jong & Wempe style)
    frame_length_s: float = _s(0.032, "activity", "Analysis window for level and spectrum.", 0.005, 0.2)
    hop_s: float = _s(0.01, "activity", "Step between analysis frames: the time resolution of every span.", 0.002, 0.05)
    silence_below_peak_db: float = _s(25.0, "activity", "Frames this far below the loud end (99th percentile) of the file are silence.", 5.0, 80.0)
    noise_margin_db: float = _s(6.0, "activity", "In a noisy room, speech must also be this far above the noise floor (5th percentile).", 0.0, 40.0)
    speech_floor_dbfs: float = _s(-55.0, 'activity', "Frames quieter than this are never speech (all-silent files give 'no speech').", -120.0, -10.0)
    min_pause_s: float = _s(0.25, "activity", "Silences shorter than this inside speech are not pauses.", 0.05, 5.0)
    min_voiced_fraction: float = _s(0.1, 'activity', "Sound with fewer pitched frames than this share is noise, not a voice ('no speech').", 0.0, 1.0)
    min_speech_segment_s: float = _s(0.06, "activity", "Speech bursts shorter than this are ignored as clicks.", 0.0, 1.0)
    # --- pitch
    pitch_min_hz: float = _s(65.0, "pitch", "Lowest fundamental frequency tracked.", 30.0, 400.0)
    pitch_max_hz: float = _s(600.0, "pitch", "Highest fundamental frequency tracked.", 100.0, 1500.0)
    pitch_window_s: float = _s(0.025, "pitch", "Integration window of the YIN difference function.", 0.01, 0.1)
    pitch_aperiodicity_max: float = _s(0.25, "pitch", "A frame is voiced when its YIN aperiodicity is below this.", 0.01, 1.0)
    pitch_outlier_st: float = _s(10.0, "pitch", "Pitch values further than this from the median are octave errors and dropped.", 1.0, 36.0)
    # --- pace
    syllable_min_dip_db: float = _s(2.0, "pace", "Level dip needed between two syllable nuclei.", 0.1, 20.0)
    syllable_smoothing_s: float = _s(0.05, "pace", "Length of the smoothing applied to the level contour before peak picking.", 0.0, 0.5)
    # --- turn timing against a customer prompt
    prompt_end_below_peak_db: float = _s(30.0, 'turn', "The customer's line ends at its last frame within this of its loudest, found on the clean prompt.", 5.0, 80.0)
    barge_in_min_s: float = _s(0.2, 'turn', "Reply speech during the customer's line must last this long to count as an interruption.", 0.02, 5.0)
    bleed_margin_db: float = _s(8.0, "turn", "Mic level must exceed the predicted prompt bleed by this much to count as the trainee.", 0.0, 40.0)
    bleed_max_delay_s: float = _s(0.5, "turn", "Longest acoustic delay searched between prompt playback and the mic.", 0.0, 2.0)
    bleed_min_correlation: float = _s(0.1, "turn", "Below this normalised correlation the prompt is taken as not heard by the mic.", 0.0, 1.0)
    # --- two-channel calls
    monologue_gap_s: float = _s(1.5, "stereo", "Gaps shorter than this (with no reply from the other side) keep a monologue going.", 0.1, 30.0)
    crosstalk_margin_db: float = _s(8.0, "stereo", "In a two-channel call, a side speaks only where its channel is this much louder than the other side's measured crosstalk.", 0.0, 40.0)
    crosstalk_max_delay_s: float = _s(0.5, "stereo", "In a two-channel call, the other side's crosstalk is looked for up to this late (a line echo arrives tens to hundreds of ms after the voice).", 0.0, 2.0)
    same_sound_crosstalk_db: float = _s(-6.0, "stereo", "Two channels that each hold the other this loud or louder carry the same sound: not a two-channel call (an error).", -40.0, 0.0)
    call_overlap_min_s: float = _s(0.6, "stereo", "In a call, an agent overlap at a turn change shorter than this is a natural hand-over, not an interruption.", 0.0, 5.0)
    backchannel_max_s: float = _s(1.0, "stereo", "In a call, an agent burst shorter than this while the customer keeps talking is a backchannel ('mm-hmm'), not an interruption.", 0.1, 5.0)
    dead_air_min_s: float = _s(5.0, "stereo", "In a call, a silence of both sides at least this long is dead air (a hold or a search), shown on the call card.", 0.5, 600.0)
    # --- coach review
    calibration_scale_tolerance_points: int = _s(1, "review", "Coach calibration: two 1-5 answers to one criterion agree when they are at most this many points apart.", 0, 4)
    verdict_fit_min_turn_count: int = _s(12, "review", "`verdict fit` needs at least this many turns the coaches called (set 'Your call' on the replay page).", 4, 1000000)
    verdict_fit_min_trainee_count: int = _s(2, "review", "... from at least this many trainees: the refit is measured on each trainee with weights fitted on the others.", 2, 100000)
    verdict_fit_anchor_weight: float = _s(0.05, "review", "How strongly `verdict fit` keeps the shipped weights (per squared unit of change; larger: the coaches' calls move them less).", 0.0001, 1000.0)
    # --- redaction of imported calls (voicerehearse/redact.py)
    redact_imports: bool = _s(True, "redaction", "Imported calls: spoken card, account and phone numbers are masked in the stored transcript and silenced in a redacted audio copy.")
    redact_min_digits: int = _s(7, "redaction", "A run of spoken digits holding at least this many is a number to redact (amounts and dates hold fewer).", 3, 40)
    redact_pad_s: float = _s(0.15, "redaction", "Audio this long before and after a redacted number is silenced too.", 0.0, 2.0)
    redact_beep: bool = _s(False, "redaction", "Replace a redacted number with a beep instead of silence.")
    redact_keep_original: bool = _s(False, "redaction", "Keep the unredacted original recording of an imported call next to the redacted copy (never served).")
    # --- verdict: tone and pace relative to the baseline, in units of normal variation
    loudness_spread_db: float = _s(2.18, "verdict", "Normal loudness difference between two neutral sentences of one speaker (one spread).", 0.1, 30.0)
    pitch_spread_st: float = _s(2.48, "verdict", "Normal difference of median pitch between two neutral sentences of one speaker.", 0.1, 24.0)
    pitch_sd_spread_st: float = _s(0.92, "verdict", "Normal difference of pitch variation (SD) between two neutral sentences of one speaker.", 0.05, 12.0)
    effort_spread_db: float = _s(3.44, "verdict", "Normal difference of vocal effort (alpha ratio) between two neutral sentences of one speaker.", 0.1, 30.0)
    tension_spread_db: float = _s(4.25, "verdict", "Normal difference of voice tension (H1-A3: first harmonic against the 2-3.5 kHz peak) between two neutral sentences of one speaker.", 0.1, 30.0)
    brightness_spread_db: float = _s(3.25, "verdict", "Normal difference of brightness (upper against lower half of the mel spectrum) between two neutral sentences of one speaker.", 0.1, 30.0)
    articulation_spread_pct: float = _s(27.3, "verdict", "Normal difference of articulation rate between two neutral sentences of one speaker.", 1.0, 200.0)
    cue_threshold_spreads: float = _s(0.5, "verdict", "A tone or pace cue counts only this many spreads away from the baseline, then by how far past.", 0.0, 10.0)
    default_loudness_dbfs: float = _s(-26.0, "verdict", "Reference speech level used when no baseline recording is given.", -80.0, 0.0)
    default_loudness_spread_db: float = _s(6.0, "verdict", "Loudness spread without a baseline (mic gain is unknown, so it is wide).", 0.1, 40.0)
    default_pitch_sd_st: float = _s(2.0, "verdict", "Reference pitch variation used when no baseline recording is given.", 0.1, 12.0)
    delivery_model: str = _s('', 'verdict', "TOML file of fitted cue weights ('' = the bundled delivery_model.toml).")
    # --- verdict: words, pace and timing
    language_cue_score: float = _s(1.5, "verdict", "Score an aggressive or passive phrase (or repeated apologies) adds to its style.", 0.0, 20.0)
    assertive_phrase_score: float = _s(0.5, "verdict", "Score an assertive phrase (empathy, ownership, next step, open question) adds.", 0.0, 20.0)
    repeated_apology_count: int = _s(2, "verdict", "This many apologies in one reply is over-apologising (passive cue).", 1, 50)
    rushed_wpm: float = _s(160.0, "verdict", "Words per minute above this is rushed (only without a baseline and from trusted words).", 50.0, 600.0)
    slow_wpm: float = _s(100.0, "verdict", "Words per minute below this is slow (only without a baseline and from trusted words).", 10.0, 400.0)
    wpm_score_step_wpm: float = _s(20.0, "verdict", "Each this many words per minute past rushed_wpm / slow_wpm adds 1 to the score.", 1.0, 200.0)
    wpm_min_words: int = _s(8, "verdict", "Words per minute is judged only from at least this many words...", 1, 1000)
    wpm_min_speech_s: float = _s(3.0, "verdict", "...and at least this much speech.", 0.0, 600.0)
    interruption_score: float = _s(2.0, 'verdict', "Score talking over the customer adds to 'aggressive' at barge_in_min_s...", 0.0, 20.0)
    interruption_score_per_s: float = _s(1.0, "verdict", "...plus this much per second of overlap...", 0.0, 20.0)
    interruption_score_max: float = _s(4.0, "verdict", "...up to this much per interruption.", 0.0, 50.0)
    long_latency_s: float = _s(2.0, "verdict", "A reply starting this long after the customer stops is hesitant (passive cue).", 0.1, 60.0)
    latency_score: float = _s(0.5, 'verdict', "Score a long wait adds to 'passive' at long_latency_s...", 0.0, 20.0)
    latency_score_per_s: float = _s(0.75, "verdict", "...plus this much per second longer.", 0.0, 20.0)
    # --- live capture (practice)
    reply_end_silence_s: float = _s(1.6, "capture", "A reply is over after this much silence following speech (or a key press).", 0.2, 30.0)
    reply_max_s: float = _s(120.0, 'capture', "Longest reply recorded after the customer's line ends.", 1.0, 3600.0)
    no_reply_s: float = _s(12.0, 'capture', "With no reply this long after the customer's line ends, the take stops.", 1.0, 600.0)
    reply_speech_level_dbfs: float = _s(-42.0, "capture", "Live end-of-reply detection: blocks louder than this are speech.", -100.0, 0.0)
    reply_min_speech_s: float = _s(0.15, "capture", "Louder blocks must last this long to count as the reply starting.", 0.01, 5.0)
    bleed_tail_s: float = _s(0.4, 'capture', "With speakers, sound this soon after the customer's line may be its echo.", 0.0, 5.0)
    prompt_lead_in_s: float = _s(0.3, 'capture', "Recorded silence before the customer's line starts in each take.", 0.0, 10.0)
    reply_hesitation_silence_s: float = _s(4.0, "capture", "After a hesitant start, a filled pause or a mid-sentence word, the reply is over only after this much silence.", 0.2, 60.0)
    reply_short_speech_s: float = _s(2.0, "capture", "A reply with less speech than this so far is just starting: a pause does not end it yet.", 0.0, 30.0)
    reply_filler_burst_s: float = _s(0.8, "capture", "A lone burst of speech shorter than this before a pause sounds like a filler ('um', 'so'): the reply goes on.", 0.0, 5.0)
    reply_burst_gap_s: float = _s(0.3, "capture", "Silence that separates two bursts of speech, for the filler rule.", 0.05, 5.0)
    next_line_delay_s: float = _s(3.0, "capture", "Without --step, the next customer line follows this long after the feedback (r retries, p plays back).", 0.0, 60.0)
    calibration_min_speech_s: float = _s(2.0, "capture", "A calibration read with less speech than this is too short to be a baseline.", 0.5, 60.0)
    calibration_min_level_dbfs: float = _s(-45.0, "capture", "A calibration read quieter than this (speech level) is too quiet: check the microphone.", -100.0, 0.0)
    calibration_min_snr_db: float = _s(15.0, "capture", "Speech in a calibration read must be this far above the room's noise floor.", 0.0, 80.0)
    # --- background jobs (web uploads, imports)
    job_lease_s: float = _s(60.0, "jobs", "A running job is taken over by another worker when its worker has not reported for this long.", 2.0, 3600.0)
    job_poll_s: float = _s(1.0, "jobs", "An idle worker looks for new jobs this often.", 0.05, 60.0)
    # --- transcription
    vosk_model: str = _s("", "transcription", "Path of a Vosk model folder (after --model and VOICEREHEARSE_VOSK_MODEL).")
    low_word_confidence_fraction: float = _s(0.5, "transcription", "Words the recogniser gives less confidence (0-1) are shown dimmed in the replay and HTML report.", 0.0, 1.0)
    # --- storage
    data_dir: str = _s('', 'store', "Where the database and audio live ('' = $VOICEREHEARSE_DATA_DIR or the user data dir).")
    database_url: str = _s('', 'store', "SQLAlchemy URL of the database ('' = SQLite file in data_dir; e.g. postgresql://...).")
    audio_dir: str = _s('', 'store', "Folder of the stored recordings ('' = data_dir/audio); several workstations may share one, as files there are written whole and named by their content (sha256).")
    min_password_length: int = _s(10, "store", "Shortest password `voicerehearse users add` / `users passwd` accept for a web login.", 8, 1024)

SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["section"], f.metadata["help"], f.metadata["low"], f.metadata["high"])
    for f in dataclasses.fields(Settings)
)
_BY_NAME = {s.name: s for s in SETTINGS}

RELATIONS: tuple[tuple[str, str], ...] = (  # (smaller, larger): the first must stay below the second
    ("min_duration_s", "max_duration_s"),
    ("min_sample_rate_hz", "max_sample_rate_hz"),
    ("pitch_min_hz", "pitch_max_hz"),
    ("hop_s", "frame_length_s"),
    ("slow_wpm", "rushed_wpm"),
    ("min_speech_segment_s", "min_duration_s"),
)


def _coerce(setting: Setting, value: Any) -> Any:
    kind = type(setting.default)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f"setting {setting.name} must be a finite number, got {value!r}")
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, str):
        return value
    raise ConfigError(f"setting {setting.name} must be {kind.__name__}, got {value!r}")


def _check_range(setting: Setting, value: Any) -> None:
    if setting.low is None or isinstance(value, (str, bool)):
        return
    if not setting.low <= value <= setting.high:
        raise ConfigError(f"setting {setting.name} = {value!r} is out of range: allowed {setting.low:g} to {setting.high:g}")


def _flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):  # [section] tables are allowed and only group keys
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat


def _read_config(path: str | os.PathLike) -> dict[str, Any]:
    try:
        return _flatten(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"config file {path} cannot be read (permission denied)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None


def load_settings(path: str | os.PathLike | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults, then the TOML file (``path`` or ``$VOICEREHEARSE_CONFIG``), then ``overrides``.

    Unknown names, wrong types, values out of range (or not finite) and broken relations (e.g. pitch_min_hz
    above pitch_max_hz) raise :class:`ConfigError` with one line naming the setting, the value and what is allowed.
    """
    values: dict[str, Any] = {}
    path = path or os.environ.get(CONFIG_ENV) or None
    if path is not None:
        values.update(_read_config(path))
    values.update(overrides or {})
    resolved = {}
    for name, value in values.items():
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r} (see `voicerehearse settings`)")
        resolved[name] = _coerce(_BY_NAME[name], value)
        _check_range(_BY_NAME[name], resolved[name])
    settings = Settings(**resolved)
    for small, large in RELATIONS:
        if getattr(settings, small) >= getattr(settings, large):
            raise ConfigError(f"setting {small} = {getattr(settings, small)!r} must be below "
                              f"{large} = {getattr(settings, large)!r}")
    return settings


def describe(name: str) -> Setting:
    """The declaration of one setting; raises ConfigError for unknown names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting {name!r}") from None


DEFAULTS = Settings()
"""The declared defaults, nothing read from a file or the environment: what core functions use when the caller
passes no settings (each edge loads its settings once with :func:`load_settings` and passes them down)."""
