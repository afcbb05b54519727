"""One exception hierarchy for the whole package.

Core code raises these and never prints or exits; the CLI and the web app translate them at the edge.
"""


class VoiceRehearseError(Exception):
    """Base of every error VoiceRehearse raises on purpose (bad input, missing model, device trouble).

    The message speaks of the problem, never of how an edge spelled the input; ``field`` names the input it is
    about (``"stereo"``, ``"prompt_start"``), so each edge can add its own name for it (the CLI its flag).

    >>> e = ConfigError("the start must be >= 0 s", field="prompt_start")
    >>> e.field, str(e)
    ('prompt_start', 'the start must be >= 0 s')
    """

    def __init__(self, *args, field: str | None = None):
        super().__init__(*args)
        self.field = field

    def __reduce__(self):  # keeps ``field`` across processes (batch workers send errors back pickled)
        return _rebuild, (type(self), self.args, self.field)

    @property
    def kind(self) -> str:
        """Stable short name used in JSON output, e.g. ``"AudioFormatError"``."""
        return type(self).__name__


class AudioFormatError(VoiceRehearseError):
    """The file is missing, not audio, empty, or holds NaN/inf samples."""


class AudioDurationError(VoiceRehearseError):
    """The audio is shorter or longer than the configured limits."""


class ConfigError(VoiceRehearseError):
    """A settings file or option value is invalid."""


class TranscriptFormatError(VoiceRehearseError):
    """A transcript file cannot be parsed."""


class ModelNotFoundError(VoiceRehearseError):
    """No speech-recognition model could be found where it was looked for."""


class ModelError(VoiceRehearseError):
    """A model folder or archive is present but incomplete, corrupt or fails its checksum."""


class EngineError(VoiceRehearseError):
    """A transcription engine is unavailable or failed."""


class DeviceError(VoiceRehearseError):
    """An audio device is missing or failed."""


class BaselineError(VoiceRehearseError):
    """The calibration recording cannot serve as a baseline (e.g. it holds no speech)."""


class StoreFormatError(VoiceRehearseError):
    """A stored record cannot be read back (another schema, an error record, or damaged)."""


def _rebuild(cls, args, field):
    return cls(*args, field=field)
