"""Live capture: PortAudio callback -> queue -> blocks -> a crash-safe take on disk.

* :class:`DuplexCapture` opens one duplex stream (or an input-only one). Its callback only copies the mic block
  into a queue and copies the prompt's next slice into the output; every time is a frame count.
* :func:`record_take` consumes **any iterable of blocks** (the device, a file, a test list), writes each block to
  a :class:`TakeWriter` as it arrives and decides when the reply is over (trailing silence, key, limits).
* :class:`TakeWriter` appends raw 16-bit PCM to ``<stem>.part`` (unbuffered, fsync at least every
  :data:`FLUSH_INTERVAL_S`) beside a small JSON sidecar; :meth:`TakeWriter.finalise` turns it into a WAV.
  A process killed mid-take leaves the ``.part`` behind and :func:`recover_takes` finalises it later.

>>> import numpy as np, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> blocks = [np.zeros(800, np.int16)] * 10 + [np.full(800, 8000, np.int16)] * 10 + [np.zeros(800, np.int16)] * 40
>>> writer = TakeWriter(folder / "take", sample_rate=16000)
>>> result = record_take(blocks, writer, sample_rate=16000, prompt_end_frame=0, end=ReplyEnd(end_silence_s=1.0))
>>> result.reason, result.frames / 16000
('silence', 2.0)
>>> wav, meta = writer.finalise(); wav.name
'take.wav'
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voicerehearse.errors import DeviceError, VoiceRehearseError
from voicerehearse.settings import SETTINGS

FLUSH_INTERVAL_S = 0.25  # the .part file is fsync'ed at least this often (audio time and wall time)
SIDECAR_SCHEMA = "voicerehearse.take/1"
PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".take.json"
BLOCK_TIMEOUT_S = 2.0  # no block from the device for this long (wall time) is a device failure


class TakeStorageError(VoiceRehearseError):
    """The take cannot be written (disk full, permissions). What was written before stays on disk."""


# --------------------------------------------------------------------------- levels and end of reply


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of one block in dBFS (int16 or float in [-1, 1]); -120 for digital silence.

    >>> round(level_dbfs(np.full(100, 0.1, np.float32)), 1), level_dbfs(np.zeros(10, np.int16))
    (-20.0, -120.0)
    """
    y = _as_float(block)
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    return max(-120.0, float(20 * np.log10(rms))) if rms > 0 else -120.0


def _as_float(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block)
    if block.ndim == 2:
        block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
    if block.dtype == np.int16:
        return block.astype(np.float32) / 32768.0
    return block.astype(np.float32, copy=False)


def _as_int16(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block)
    if block.ndim == 2:
        block = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)
    if block.dtype == np.int16:
        return block
    return np.clip(np.round(block.astype(np.float32) * 32767.0), -32768, 32767).astype(np.int16)


_DEFAULT = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class ReplyEnd:
    """When a take stops. All durations are audio time (sample counts). Defaults: the capture settings."""

    end_silence_s: float = _DEFAULT["reply_end_silence_s"]  # the reply is over after this much silence following speech
    no_reply_s: float = _DEFAULT["no_reply_s"]  # no reply this long after the customer's line ends: stop the take
    max_reply_s: float = _DEFAULT["reply_max_s"]  # hard limit after the customer's line ends
    speech_level_dbfs: float = _DEFAULT["reply_speech_level_dbfs"]  # blocks louder than this count as speech for end detection only
    min_speech_s: float = _DEFAULT["reply_min_speech_s"]  # louder blocks must last this long to count as the reply starting
    bleed_tail_s: float = _DEFAULT["bleed_tail_s"]  # with speakers, speech this soon after the line ends may be its echo

    @classmethod
    def from_settings(cls, settings, **overrides) -> "ReplyEnd":
        values = dict(end_silence_s=settings.reply_end_silence_s, no_reply_s=settings.no_reply_s,
                      max_reply_s=settings.reply_max_s, speech_level_dbfs=settings.reply_speech_level_dbfs,
                      min_speech_s=settings.reply_min_speech_s, bleed_tail_s=settings.bleed_tail_s)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class TakeProgress:
    """Handed to ``on_block`` after every block (for a live display)."""

    frame: int  # frames recorded so far
    sample_rate: int
    level_dbfs: float  # this block's level
    phase: str  # "customer" while the line plays, then "reply"
    speaking: bool  # the end detector currently hears speech
    reply_heard: bool
    reply_frames: int  # frames of speech heard so far

    @property
    def elapsed_s(self) -> float:
        return self.frame / self.sample_rate


@dataclass(frozen=True)
class TakeResult:
    frames: int
    sample_rate: int
    reason: str  # "silence" | "key" | "no reply" | "max" | "end of input"
    reply_heard: bool

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def record_take(
    blocks: Iterable[np.ndarray],
    writer: "TakeWriter",
    *,
    sample_rate: int,
    prompt_end_frame: int,
    end: ReplyEnd = ReplyEnd(),
    headset: bool = True,
    stop: threading.Event | None = None,
    on_block: Callable[[np.ndarray, TakeProgress], None] | None = None,
) -> TakeResult:
    """Write ``blocks`` to ``writer`` until the reply is over; return how much was recorded and why it stopped.

    Errors (DeviceError from the block source, TakeStorageError, KeyboardInterrupt) propagate; everything
    written before them is on disk — the caller finalises the writer.
    """
    sr = sample_rate
    min_speech = int(end.min_speech_s * sr)
    heard_from = prompt_end_frame + (0 if headset else int(end.bleed_tail_s * sr))
    frame = loud_run = reply_frames = 0
    last_speech = -1
    reply_heard = False
    reason = "end of input"
    for block in blocks:
        block = _as_int16(block)
        writer.write(block)
        start, frame = frame, frame + block.shape[0]
        level = level_dbfs(block)
        loud = level >= end.speech_level_dbfs
        loud_run = loud_run + block.shape[0] if loud else 0
        speaking = loud_run >= min_speech
        if speaking:
            last_speech = frame
            if headset or start >= heard_from:
                reply_heard = True
                reply_frames += block.shape[0]
        if on_block is not None:
            on_block(block, TakeProgress(frame, sr, level, "customer" if frame <= prompt_end_frame else "reply",
                                         speaking, reply_heard, reply_frames))
        if stop is not None and stop.is_set():
            reason = "key"
            break
        if frame < prompt_end_frame:
            continue
        if reply_heard and frame - max(last_speech, prompt_end_frame) >= end.end_silence_s * sr:
            reason = "silence"
            break
        if not reply_heard and frame - prompt_end_frame >= end.no_reply_s * sr:
            reason = "no reply"
            break
        if frame - prompt_end_frame >= end.max_reply_s * sr:
            reason = "max"
            break
    return TakeResult(frame, sr, reason, reply_heard)


def mix_in(blocks: Iterable[np.ndarray], samples: np.ndarray) -> Iterator[np.ndarray]:
    """Add ``samples`` (float, mono, same rate) to the blocks from their first frame on: a recorded reply
    'spoken into' the live microphone signal (``practice --replies``).

    >>> [b.tolist() for b in mix_in([np.zeros(2, np.int16)] * 2, np.array([0.5, 0.5, 0.5], np.float32))]
    [[16384, 16384], [16384, 0]]
    """
    pos = 0
    add = np.round(np.asarray(samples, np.float32) * 32767.0)
    for block in blocks:
        block = _as_int16(block)
        n = block.shape[0]
        part = add[pos : pos + n]
        pos += n
        if part.size:
            mixed = block.astype(np.float32)
            mixed[: part.size] += part
            block = np.clip(mixed, -32768, 32767).astype(np.int16)
        yield block


# --------------------------------------------------------------------------- crash-safe writer


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _storage_error(path: Path, exc: OSError) -> TakeStorageError:
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror or str(exc)
    return TakeStorageError(f"cannot write {path}: {what}")


class TakeWriter:
    """Append-only raw PCM take (16-bit mono) with a JSON sidecar; safe against SIGKILL and power loss up to
    :data:`FLUSH_INTERVAL_S` of audio. Holds an exclusive lock on the ``.part`` while recording, so recovery
    never touches a take another process is still writing."""

    def __init__(self, stem: str | os.PathLike, *, sample_rate: int, meta: dict[str, Any] | None = None,
                 flush_interval_s: float = FLUSH_INTERVAL_S):
        stem = Path(stem)
        self.part = stem.with_name(stem.name + PART_SUFFIX)
        self.sidecar = stem.with_name(stem.name + SIDECAR_SUFFIX)
        self.wav = stem.with_name(stem.name + ".wav")
        self.sample_rate = sample_rate
        self.frames = 0
        self.meta = {
            "schema": SIDECAR_SCHEMA, "sample_rate": sample_rate, "channels": 1, "format": "s16le",
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(meta or {}),
        }
        self._flush_frames = max(1, int(flush_interval_s * sample_rate))
        self._flush_wall_s = flush_interval_s
        self._unsynced = 0
        self._last_sync = time.monotonic()
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(self.sidecar, self.meta)
            self._fd: int | None = os.open(str(self.part), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _fsync_dir(self.part.parent)
        except OSError as exc:
            raise _storage_error(self.part, exc) from None

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def update(self, **meta: Any) -> None:
        """Add facts to the sidecar (e.g. where the prompt ended), atomically."""
        self.meta.update(meta)
        try:
            _write_json_atomic(self.sidecar, self.meta)
        except OSError as exc:
            raise _storage_error(self.sidecar, exc) from None

    def write(self, block: np.ndarray) -> None:
        """Append one block (int16, or float in [-1, 1]); the bytes reach the kernel at once (no user buffer)."""
        if self._fd is None:
            raise TakeStorageError(f"{self.part}: the take is already closed")
        data = memoryview(np.ascontiguousarray(_as_int16(block)).astype("<i2", copy=False).tobytes())
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as exc:
            self.frames = os.fstat(self._fd).st_size // 2 if self._fd is not None else self.frames
            raise _storage_error(self.part, exc) from None
        n = len(block)
        self.frames += n
        self._unsynced += n
        now = time.monotonic()
        if self._unsynced >= self._flush_frames or now - self._last_sync >= self._flush_wall_s:
            self.sync()

    def sync(self) -> None:
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise _storage_error(self.part, exc) from None
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Flush and close the ``.part`` (idempotent); the take stays recoverable."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def finalise(self) -> tuple[Path, dict[str, Any]]:
        """Close, convert to ``<stem>.wav`` and remove the ``.part`` and sidecar. Returns the WAV and the metadata."""
        self.close()
        self.update(frames=self.frames)
        return finalise_part(self.part)

    def __enter__(self) -> "TakeWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class RecoveredTake:
    wav: Path
    meta: dict[str, Any]  # the sidecar: sample_rate, started_at and what the recorder added (session, turn ...)
    duration_s: float


def _sidecar_of(part: Path) -> Path:
    return part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX)


def finalise_part(part: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Turn a ``.part`` (and its sidecar) into a WAV beside it; whole frames only. Raises TakeStorageError."""
    part = Path(part)
    sidecar = _sidecar_of(part)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {"sample_rate": 16000, "channels": 1, "format": "s16le", "note": "sidecar missing; assumed 16 kHz"}
    sr = int(meta.get("sample_rate") or 16000)
    wav = part.with_name(part.name[: -len(PART_SUFFIX)] + ".wav")
    tmp = wav.with_name(wav.name + ".tmp")
    try:
        raw = part.read_bytes()
        samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
        with sf.SoundFile(str(tmp), "w", samplerate=sr, channels=1, subtype="PCM_16", format="WAV") as f:
            f.write(samples)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, wav)
        _fsync_dir(wav.parent)
        part.unlink()
        sidecar.unlink(missing_ok=True)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _storage_error(wav, exc) from None
    meta["frames"] = int(samples.shape[0])
    return wav, meta


def _locked(part: Path) -> bool:
    try:
        fd = os.open(str(part), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the probe lock
    return False


def pending_takes(folder: str | os.PathLike) -> list[Path]:
    """``.part`` files under ``folder`` left by a crashed or killed recorder (takes being written are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*" + PART_SUFFIX) if p.is_file() and not _locked(p))


def recover_takes(folder: str | os.PathLike) -> list[RecoveredTake]:
    """Finalise every pending take under ``folder`` to WAV."""
    recovered = []
    for part in pending_takes(folder):
        wav, meta = finalise_part(part)
        recovered.append(RecoveredTake(wav, meta, meta["frames"] / int(meta.get("sample_rate") or 16000)))
    return recovered


# --------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(f"PortAudio is not available ({exc}); install libportaudio2") from None
    return sd


def list_devices() -> tuple[DeviceInfo, ...]:
    """Every audio device PortAudio sees."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    return tuple(
        DeviceInfo(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"], d["max_output_channels"],
                   d["default_samplerate"], i == default_in, i == default_out)
        for i, d in enumerate(devices)
    )


def _device_arg(device: str | int | None) -> str | int | None:
    if device is None or device == "":
        return None
    if isinstance(device, str) and device.strip().isdigit():
        return int(device)
    return device


def input_device(device: str | int | None = None) -> DeviceInfo:
    """The input device to record from (by index or name substring); DeviceError if there is none."""
    sd = _sd()
    devices = list_devices()
    if not any(d.max_input_channels > 0 for d in devices):
        raise DeviceError("no input device found: connect a microphone (or headset) and try again; "
                          "`voicerehearse devices` lists what PortAudio sees")
    try:
        info = sd.query_devices(_device_arg(device), "input")
    except (ValueError, sd.PortAudioError) as exc:
        raise DeviceError(f"input device {device if device is not None else '(default)'} not usable: {exc}") from None
    match = next((d for d in devices if d.name == info["name"] and d.max_input_channels > 0), None)
    if match is None:
        raise DeviceError(f"input device {device if device is not None else '(default)'} has no input channels")
    return match


class DuplexCapture:
    """One stream that records the mic and plays the prompt with the same frame clock.

    Use as a context manager; iterate :meth:`blocks`. ``prompt`` (a
    :class:`voicerehearse.audio.playback.PromptSource`) starts at its ``start_frame`` of the recording;
    ``output=False`` opens an input-only stream (calibration, or no output device).
    """

    def __init__(self, *, sample_rate: int, input_device: str | int | None = None,
                 output_device: str | int | None = None, prompt=None, output: bool = True, blocksize: int = 800):
        self.sample_rate = sample_rate
        self.devices = (_device_arg(input_device), _device_arg(output_device))
        self.prompt = prompt
        self.output = output
        self.blocksize = blocksize
        self.queue: queue.Queue[np.ndarray] = queue.Queue()
        self.statuses: list[str] = []  # PortAudio status flags seen by the callback (overflows, underflows)
        # seconds from a frame's capture (ADC) to the playback (DAC) of the output frame with the same index, from
        # the stream's own clock: where the prompt really starts in the recording is start_frame + this
        self.output_delay_s: float | None = None
        self._frame = 0
        self._stream = None

    def _callback(self, indata, outdata, frames, time_info, status):  # PortAudio thread: copy and enqueue only
        if status:
            self.statuses.append(str(status))
        if outdata is not None:
            if self.output_delay_s is None:
                delay = time_info.outputBufferDacTime - time_info.inputBufferAdcTime
                self.output_delay_s = delay if 0.0 <= delay <= 0.5 else 0.0
            if self.prompt is not None:
                self.prompt.fill(outdata, self._frame)
            else:
                outdata.fill(0)
        self._frame += frames
        self.queue.put(indata[:, 0].copy())

    def _input_only(self, indata, frames, time_info, status):
        self._callback(indata, None, frames, time_info, status)

    def __enter__(self) -> "DuplexCapture":
        sd = _sd()
        try:
            if self.output:
                self._stream = sd.Stream(samplerate=self.sample_rate, blocksize=self.blocksize, device=self.devices,
                                         channels=1, dtype="int16", callback=self._callback)
            else:
                self._stream = sd.InputStream(samplerate=self.sample_rate, blocksize=self.blocksize,
                                              device=self.devices[0], channels=1, dtype="int16",
                                              callback=self._input_only)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise DeviceError(f"cannot open the audio device: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is None:
            return
        sd = _sd()
        try:
            self._stream.abort()  # stop at once; playback of the prompt tail is not needed any more
            self._stream.close()
        except sd.PortAudioError:
            pass
        self._stream = None

    def blocks(self, timeout_s: float = BLOCK_TIMEOUT_S) -> Iterator[np.ndarray]:
        """Mic blocks, (frames,) int16, for as long as the stream runs. DeviceError when the device stops."""
        while True:
            try:
                yield self.queue.get(timeout=timeout_s)
            except queue.Empty:
                stream = self._stream
                state = "stopped" if stream is None or not stream.active else f"sent nothing for {timeout_s:g} s"
                raise DeviceError(f"the input device {state} (unplugged?)") from None
