"""The customer's line as samples: the pack's recording, else espeak-ng speech, else a cue tone (text on screen).

:class:`PromptSource` hands those samples to a duplex stream's output, block by block, starting at a known frame
of the take, so the prompt's start in the recording is exact by construction (sample counts, not clocks).

>>> import numpy as np
>>> src = PromptSource(np.ones(5, np.float32), start_frame=3)
>>> out = np.zeros((4, 1), np.float32); src.fill(out, 0); out[:, 0].tolist()
[0.0, 0.0, 0.0, 1.0]
>>> src.end_frame
8
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicerehearse.audio.io import load_audio
from voicerehearse.settings import load_settings
from voicerehearse.errors import AudioFormatError

ESPEAK = "espeak-ng"
CUE_TONE_HZ = 880.0
CUE_TONE_S = 0.35
PROMPT_LEVEL_DBFS = -20.0  # synthesised and cue-tone prompts are played at this RMS level


@dataclass(frozen=True)
class PromptAudio:
    """What is played for one customer line."""

    samples: np.ndarray  # (n,) float32 mono at ``sample_rate``
    sample_rate: int
    kind: str  # "recorded" | "espeak" | "tone"
    text: str  # always shown on screen

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def cue_tone(sample_rate: int) -> np.ndarray:
    """A short soft beep that tells the trainee the customer has 'spoken' (the text is on screen)."""
    t = np.arange(int(CUE_TONE_S * sample_rate)) / sample_rate
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    y = np.sin(2 * np.pi * CUE_TONE_HZ * t) * fade
    return _at_level(y)


def _at_level(y: np.ndarray, level_dbfs: float = PROMPT_LEVEL_DBFS) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(y)))) if y.size else 0.0
    if rms > 0:
        y = y / rms * 10 ** (level_dbfs / 20)
    return np.clip(y, -1, 1).astype(np.float32)


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def synthesize(text: str, path: str | os.PathLike, *, voice: str = "en-us", words_per_minute: int = 165) -> Path:
    """Speak ``text`` with espeak-ng into the WAV ``path``; raises AudioFormatError if espeak-ng fails."""
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise AudioFormatError("espeak-ng is not installed")
    try:
        subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
                       check=True, capture_output=True, timeout=30)
    except (subprocess.SubprocessError, OSError) as exc:
        raise AudioFormatError(f"espeak-ng could not speak the customer's line: {exc}") from None
    return Path(path)


def _read_mono(path: Path, sample_rate: int) -> np.ndarray:
    """The file as validated mono samples at ``sample_rate`` (the same checks as every analysed file)."""
    return load_audio(path, settings=load_settings(overrides={"analysis_sample_rate_hz": sample_rate})).samples


def prompt_audio(text: str, audio: Path | None, *, sample_rate: int, speak: bool = True) -> PromptAudio:
    """The samples for a customer line: ``audio`` if given, else espeak-ng (when ``speak`` and installed), else a tone."""
    if audio is not None:
        return PromptAudio(_read_mono(Path(audio), sample_rate), sample_rate, "recorded", text)
    if speak and espeak_available():
        with tempfile.TemporaryDirectory(prefix="voicerehearse-tts-") as tmp:
            path = synthesize(text, Path(tmp) / "line.wav")
            return PromptAudio(_at_level(_read_mono(path, sample_rate)), sample_rate, "espeak", text)
    return PromptAudio(cue_tone(sample_rate), sample_rate, "tone", text)


class PromptSource:
    """Feeds a prompt into output blocks from ``start_frame`` of the stream on; silence elsewhere.

    ``fill`` is called from the PortAudio callback: it only copies a slice, never allocates large buffers.
    """

    def __init__(self, samples: np.ndarray | None, start_frame: int = 0):
        self.samples = np.zeros(0, np.float32) if samples is None else np.asarray(samples, np.float32)
        self.start_frame = int(start_frame)

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.samples.shape[0]

    def fill(self, outdata: np.ndarray, frame: int) -> None:
        """Write frames ``frame .. frame + len(outdata)`` of the output timeline into ``outdata`` (frames, channels)."""
        outdata.fill(0)
        n = outdata.shape[0]
        lo, hi = max(frame, self.start_frame), min(frame + n, self.end_frame)
        if hi <= lo:
            return
        chunk = self.samples[lo - self.start_frame : hi - self.start_frame]
        if np.issubdtype(outdata.dtype, np.integer):
            chunk = np.clip(np.round(chunk * 32767.0), -32768, 32767)
        outdata[lo - frame : hi - frame, :] = chunk[:, None]
