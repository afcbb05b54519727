"""The virtual microphone harness for the practice tests (shared/design/VIRTUAL_MIC.md), and its own checks.

Device code always runs in a subprocess whose HOME holds an ``.asoundrc`` routing ALSA's default PCM to the
``file`` plugin: the "microphone" reads a raw PCM file, playback goes to /dev/null. The developer's audio
setup is never touched and PortAudio starts fresh in every run. The null device has no clock, so takes
finish as fast as the CPU allows; ``clocked=True`` makes the callback sleep one block per block (a real
device's pace) for the crash and Ctrl-C tests.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from synth import SR, place, voice

ASOUNDRC = """pcm.!default {{
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "{infile}"
  format "raw"
}}
"""

_CLOCK = """
import os, struct, time
from voicerehearse.audio import devices
_orig = devices.DuplexCapture._callback
_count = os.environ.get("VR_TEST_FRAMES_FILE")
_fd = os.open(_count, os.O_RDWR | os.O_CREAT) if _count else None
def _clocked(self, indata, outdata, frames, time_info, status):
    time.sleep(frames / self.sample_rate)  # the null device has no clock: pace it like real hardware
    _orig(self, indata, outdata, frames, time_info, status)
    if _fd is not None:  # frames the device has delivered so far, readable after a SIGKILL
        os.pwrite(_fd, struct.pack("<q", self._frame), 0)
devices.DuplexCapture._callback = _clocked
"""


def virtual_mic(folder: Path, mic: np.ndarray | None = None, *, tail_s: float = 2.0) -> dict[str, str]:
    """Environment for a subprocess whose default ALSA device records ``mic`` (float, 16 kHz mono).

    The raw file is padded with ``tail_s`` of silence: after its end ALSA repeats its last buffer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    mic = np.zeros(0, np.float32) if mic is None else np.asarray(mic, np.float32)
    pcm = np.concatenate([mic, np.zeros(int(tail_s * SR), np.float32)])
    raw = folder / "mic.raw"
    np.clip(np.round(pcm * 32767), -32768, 32767).astype("<i2").tofile(raw)
    (home / ".asoundrc").write_text(ASOUNDRC.format(infile=raw))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALSA_", "VOICEREHEARSE_"))}
    env["HOME"] = str(home)
    return env


def _argv(command: str, args: list[str], clocked: bool) -> list[str]:
    code = (_CLOCK if clocked else "") + f"\nfrom voicerehearse.cli.practice import {command}\n{command}()\n"
    return [sys.executable, "-c", code, *map(str, args)]


def run_cli(command: str, args: list, env: dict, *, clocked: bool = False, timeout: float = 120):
    """Run one of the practice commands in a fresh process against the virtual microphone."""
    return subprocess.run(_argv(command, args, clocked), env=env, capture_output=True, text=True, timeout=timeout)


def run_python(code: str, args: list, env: dict, *, clocked: bool = False, timeout: float = 120):
    """Run ``code`` (which reads ``sys.argv[1:]``) in a fresh process against the virtual microphone."""
    argv = [sys.executable, "-c", (_CLOCK if clocked else "") + "\n" + code, *map(str, args)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def start_cli(command: str, args: list, env: dict, *, clocked: bool = True) -> subprocess.Popen:
    return subprocess.Popen(_argv(command, args, clocked), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def write_pack(folder: Path, prompts: list[np.ndarray], *, pack_id: str = "test-call") -> Path:
    """A scenario pack whose customer lines are the given recordings (16 kHz)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'id = "{pack_id}"', 'title = "Test call"', 'difficulty = "easy"']
    for i, y in enumerate(prompts, start=1):
        sf.write(folder / f"customer-{i}.wav", y, SR)
        lines += ["", "[[turns]]", f'customer = "Customer line {i}."', f'audio = "customer-{i}.wav"',
                  'expect = ["empathy"]', 'avoid = ["blame"]']
    pack = folder / f"{pack_id}.toml"
    pack.write_text("\n".join(lines) + "\n")
    return pack


def customer(seed: int = 1, duration_s: float = 2.0) -> np.ndarray:
    """A customer's line: a higher voice with syllables."""
    return voice(duration_s, f0=210.0, syllable_hz=4.0, level_db=-20.0, seed=seed)


def trainee(duration_s: float, seed: int = 5, level_db: float = -24.0) -> np.ndarray:
    return voice(duration_s, f0=125.0, syllable_hz=4.0, level_db=level_db, seed=seed)


def test_virtual_microphone_is_the_default_device(tmp_path):
    env = virtual_mic(tmp_path, place(1.0, (0.2, trainee(0.5))))
    out = run_cli("devices", [], env)
    assert out.returncode == 0, out.stderr
    assert "default" in out.stdout and "ALSA" in out.stdout


BLOCK = 800  # frames per capture block (50 ms at 16 kHz), as the duplex stream delivers them


def blocks_of(y: np.ndarray, block: int = BLOCK):
    """``y`` as the int16 blocks a sound card would deliver."""
    pcm = np.clip(np.round(np.asarray(y) * 32767), -32768, 32767).astype(np.int16)
    return [pcm[i : i + block] for i in range(0, pcm.size, block)]


def fill_disk_after(monkeypatch, writes: int) -> None:
    """Make every ``os.write`` of the take writer after the first ``writes`` fail as a full disk would."""
    from voicerehearse.audio import takes

    real_write = os.write
    calls = {"n": 0}

    def write(fd, data):
        calls["n"] += 1
        if calls["n"] > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(takes.os, "write", write)

