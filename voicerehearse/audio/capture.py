"""Live capture: PortAudio callback -> queue -> blocks -> a crash-safe take on disk.

* :class:`DuplexCapture` opens one duplex stream (or an input-only one). Its callback only copies the mic block
  into a queue and copies the prompt's next slice into the output; every time is a frame count.
* :func:`record_take` consumes **any iterable of blocks** (the device, a file, a test list), writes each block to
  a :class:`TakeWriter` as it arrives and decides when the reply is over (trailing silence, key, limits).
* :class:`TakeWriter` appends raw 16-bit PCM to ``<stem>.part`` (unbuffered, fsync at least every
  :data:`FLUSH_INTERVAL_S`) beside a small JSON sidecar; :meth:`TakeWriter.finalise` turns it into a WAV.
  A process killed mid-take leaves the ``.part`` behind and :func:`recover_takes` finalises it later.
* A take's sidecar is removed only once the take is stored (:meth:`TakeWriter.settle`,
  :meth:`RecoveredTake.settle`): a WAV that still has its sidecar is "converted, not stored yet" and recovery
  finishes the job. Take files are private to the user (mode 0600).

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
from dataclasses import dataclass, field
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
FILE_MODE = 0o600  # takes and their sidecars hold a trainee's voice and name: readable by the user only


class TakeStorageError(VoiceRehearseError):
    """The take cannot be written (disk full, permissions). What was written before stays on disk."""


class TakeBusyError(TakeStorageError):
    """Another writer (or a recovery) holds this take; nothing of it was touched."""


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
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _storage_error(path: Path, exc: OSError) -> TakeStorageError:
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror or str(exc)
    return TakeStorageError(f"cannot write {path}: {what}")


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``; None when another process holds it (or it is gone)."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class _Hold:
    """An flock held on a finalised WAV until its take is stored (so no other recovery stores it twice)."""

    def __init__(self, fd: int | None = None):
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _settle(sidecar: Path, hold: _Hold) -> None:
    try:
        sidecar.unlink(missing_ok=True)
        _fsync_dir(sidecar.parent)
    except OSError as exc:
        raise _storage_error(sidecar, exc) from None
    finally:
        hold.release()


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
        self._hold = _Hold()  # the finalised WAV, locked until settle() when the sidecar is kept
        self._fd: int | None = None
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            # never O_TRUNC: a take another writer holds must not be wiped before we learn it is taken
            fd = os.open(str(self.part), os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        except OSError as exc:
            raise _storage_error(self.part, exc) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TakeBusyError(f"{self.part} is being recorded by another process; it was left untouched") from None
            if os.fstat(fd).st_size > 0:
                raise TakeStorageError(f"{self.part} holds an interrupted take that is not recovered yet; "
                                       "it was left untouched")
            if self.wav.exists():
                raise TakeStorageError(f"{self.wav} already exists; it was left untouched")
            os.fchmod(fd, FILE_MODE)
            os.ftruncate(fd, 0)
            _write_json_atomic(self.sidecar, self.meta)  # only now: the sidecar is ours too
            _fsync_dir(self.part.parent)
        except OSError as exc:
            os.close(fd)
            raise _storage_error(self.part, exc) from None
        except TakeStorageError:
            os.close(fd)
            raise
        self._fd = fd

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
        """Flush and close the ``.part`` and drop every lock (idempotent); the take stays recoverable."""
        self._hold.release()
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def finalise(self, *, keep_sidecar: bool = False) -> tuple[Path, dict[str, Any]]:
        """Convert to ``<stem>.wav`` and remove the ``.part``. Returns the WAV and the metadata.

        ``keep_sidecar=True``: the sidecar stays beside the WAV (which this writer keeps locked) until
        :meth:`settle` says the take is stored; a crash or :meth:`close` before that leaves "WAV + sidecar" for
        :func:`recover_takes`. Otherwise the sidecar is removed at once.
        """
        try:
            if self._fd is not None:
                os.fsync(self._fd)
            self.update(frames=self.frames)
            wav, meta, fd = _convert(self.part, keep_sidecar=keep_sidecar, hold=keep_sidecar)
        except OSError as exc:
            self.close()
            raise _storage_error(self.part, exc) from None
        except TakeStorageError:
            self.close()
            raise
        self._hold = _Hold(fd)
        if self._fd is not None:  # the .part is gone; its lock is not needed any more
            os.close(self._fd)
            self._fd = None
        return wav, meta

    def settle(self) -> None:
        """The take is stored: remove its sidecar and unlock the WAV."""
        _settle(self.sidecar, self._hold)

    def __enter__(self) -> "TakeWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class RecoveredTake:
    wav: Path
    meta: dict[str, Any]  # the sidecar: sample_rate, started_at and what the recorder added (session, turn ...)
    duration_s: float
    hold: _Hold = field(default_factory=_Hold, repr=False, compare=False)  # the WAV's lock while it is stored

    @property
    def sidecar(self) -> Path:
        return _sidecar_of(self.wav)

    def settle(self) -> None:
        """The take is stored: remove its sidecar, so no later recovery sees it again."""
        _settle(self.sidecar, self.hold)

    def release(self) -> None:
        """Not stored (yet): keep the sidecar for the next recovery and unlock the WAV."""
        self.hold.release()


def _sidecar_of(path: Path) -> Path:
    """``<stem>.take.json`` for ``<stem>.part`` or ``<stem>.wav``."""
    return path.with_name(path.name[: -len(path.suffix)] + SIDECAR_SUFFIX)


def _read_sidecar(sidecar: Path) -> dict[str, Any]:
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        meta = {"sample_rate": 16000, "channels": 1, "format": "s16le", "note": "sidecar missing; assumed 16 kHz"}
    return meta


def _convert(part: Path, *, keep_sidecar: bool, hold: bool) -> tuple[Path, dict[str, Any], int | None]:
    """``.part`` -> ``.wav`` (mode 0600, whole frames). With ``keep_sidecar`` the sidecar (now with the frame count)
    stays; with ``hold`` the returned fd keeps the WAV locked. OSError propagates; the ``.part`` then stays."""
    sidecar = _sidecar_of(part)
    meta = _read_sidecar(sidecar)
    sr = int(meta.get("sample_rate") or 16000)
    wav = part.with_name(part.name[: -len(PART_SUFFIX)] + ".wav")
    tmp = wav.with_name(wav.name + ".tmp")
    fd = None
    try:
        raw = part.read_bytes()
        samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
        fd = os.open(str(tmp), os.O_RDWR | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        if hold:  # locked before it gets its name: no recovery can take it between rename and lock
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with open(os.dup(fd), "r+b") as fh, \
                sf.SoundFile(fh, "w", samplerate=sr, channels=1, subtype="PCM_16", format="WAV") as f:
            f.write(samples)
        os.fsync(fd)
        os.replace(tmp, wav)
        meta["frames"] = int(samples.shape[0])
        if keep_sidecar:
            _write_json_atomic(sidecar, meta)
        part.unlink()
        if not keep_sidecar:
            sidecar.unlink(missing_ok=True)
        _fsync_dir(wav.parent)
    except BaseException:
        if fd is not None:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    if not hold:
        os.close(fd)
        fd = None
    return wav, meta, fd


def finalise_part(part: str | os.PathLike, *, keep_sidecar: bool = False) -> tuple[Path, dict[str, Any]]:
    """Turn a ``.part`` (and its sidecar) into a WAV beside it; whole frames only. Raises TakeStorageError."""
    part = Path(part)
    try:
        wav, meta, _ = _convert(part, keep_sidecar=keep_sidecar, hold=False)
    except OSError as exc:
        raise _storage_error(part.with_name(part.name[: -len(PART_SUFFIX)] + ".wav"), exc) from None
    return wav, meta


def _locked(path: Path) -> bool:
    fd = _try_lock(path)
    if fd is None:
        return path.exists()
    os.close(fd)  # closing releases the probe lock
    return False


def pending_takes(folder: str | os.PathLike) -> list[Path]:
    """``.part`` files under ``folder`` left by a crashed or killed recorder (takes being written are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*" + PART_SUFFIX) if p.is_file() and not _locked(p))


def unstored_takes(folder: str | os.PathLike) -> list[Path]:
    """WAVs under ``folder`` whose sidecar is still beside them: converted but not stored (a crash, or a failed
    store). Takes with a ``.part`` (see :func:`pending_takes`) and WAVs a live writer holds are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for sidecar in folder.rglob("*" + SIDECAR_SUFFIX):
        stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
        wav, part = sidecar.with_name(stem + ".wav"), sidecar.with_name(stem + PART_SUFFIX)
        if wav.is_file() and not part.exists() and not _locked(wav):
            found.append(wav)
    return sorted(found)


def recover_take(path: str | os.PathLike) -> RecoveredTake | None:
    """Finalise one pending ``.part`` (or reopen a WAV whose sidecar says it is not stored), keeping the sidecar
    and holding a lock on the WAV until :meth:`RecoveredTake.settle` or :meth:`RecoveredTake.release`.
    None when another process holds the take. Raises TakeStorageError (the take stays as it was)."""
    path = Path(path)
    if path.name.endswith(PART_SUFFIX):
        part_fd = _try_lock(path)
        if part_fd is None:
            return None
        try:
            if not path.exists():  # recovered by someone else between listing and locking
                return None
            wav, meta, fd = _convert(path, keep_sidecar=True, hold=True)
        except OSError as exc:
            raise _storage_error(path.with_name(path.name[: -len(PART_SUFFIX)] + ".wav"), exc) from None
        finally:
            os.close(part_fd)
    else:
        wav = path
        fd = _try_lock(wav)
        if fd is None or not _sidecar_of(wav).exists():
            if fd is not None:
                os.close(fd)
            return None
        meta = _read_sidecar(_sidecar_of(wav))
        try:
            info = sf.info(str(wav))
        except (OSError, RuntimeError) as exc:  # soundfile's LibsndfileError is a RuntimeError
            os.close(fd)
            raise TakeStorageError(f"cannot read {wav}: {exc}") from None
        meta["sample_rate"], meta["frames"] = info.samplerate, info.frames
    return RecoveredTake(wav, meta, meta["frames"] / int(meta.get("sample_rate") or 16000), _Hold(fd))


def recover_takes(folder: str | os.PathLike) -> Iterator[RecoveredTake]:
    """Each take left under ``folder`` by a crash, one at a time: a ``.part`` is converted only when the one
    before it is settled (stored) or released. The caller calls ``settle()`` once the take is stored."""
    paths = pending_takes(folder) + unstored_takes(folder)
    for path in paths:
        take = recover_take(path)
        if take is None:
            continue
        try:
            yield take
        finally:
            take.release()  # a no-op after settle()


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
