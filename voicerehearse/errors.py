"""One exception hierarchy for the whole package.

Core code raises these and never prints or exits; the CLI and the web app translate them at the edge.
"""


class VoiceRehearseError(Exception):
    """Base of every error VoiceRehearse raises on purpose (bad input, missing model, device trouble)."""

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
