"""Crash-safe takes on disk: raw PCM appended as it is captured, a sidecar, and recovery after a crash.

* :class:`TakeWriter` appends raw 16-bit PCM to ``<stem>.part`` (unbuffered, fsync at least every
  :data:`FLUSH_INTERVAL_S`) beside a small JSON sidecar; :meth:`TakeWriter.finalise` turns it into a WAV.
  A process killed mid-take leaves the ``.part`` behind and :func:`recover_takes` finalises it later.
* A take's sidecar is removed only once the take is stored (:meth:`TakeWriter.settle`,
  :meth:`RecoveredTake.settle`): a WAV that still has its sidecar is "converted, not stored yet" and recovery
  finishes the job. Take files are private to the user (mode 0600).

>>> import numpy as np, tempfile, pathlib
>>> writer = TakeWriter(pathlib.Path(tempfile.mkdtemp()) / "take", sample_rate=16000)
>>> writer.write(np.zeros(1600, np.int16))
>>> wav, meta = writer.finalise(); wav.name, meta["frames"]
('take.wav', 1600)
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voicerehearse.audio.pcm import as_int16
from voicerehearse.errors import VoiceRehearseError

FLUSH_INTERVAL_S = 0.25  # the .part file is fsync'ed at least this often (audio time and wall time)
SIDECAR_SCHEMA = "voicerehearse.take/1"
PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".take.json"
FILE_MODE = 0o600  # takes and their sidecars hold a trainee's voice and name: readable by the user only


class TakeStorageError(VoiceRehearseError):
    """The take cannot be written (disk full, permissions). What was written before stays on disk."""


class TakeBusyError(TakeStorageError):
    """Another writer (or a recovery) holds this take; nothing of it was touched."""


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
        data = memoryview(np.ascontiguousarray(as_int16(block)).astype("<i2", copy=False).tobytes())
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


ASSUMED_RATE_HZ = 16000  # a take whose sidecar is lost is read as 16 kHz mono s16le (what capture writes by default)


def _read_sidecar(sidecar: Path) -> dict[str, Any]:
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        meta = {"sample_rate": ASSUMED_RATE_HZ, "channels": 1, "format": "s16le", "note": "sidecar missing; assumed 16 kHz"}
    return meta


def _convert(part: Path, *, keep_sidecar: bool, hold: bool) -> tuple[Path, dict[str, Any], int | None]:
    """``.part`` -> ``.wav`` (mode 0600, whole frames). With ``keep_sidecar`` the sidecar (now with the frame count)
    stays; with ``hold`` the returned fd keeps the WAV locked. OSError propagates; the ``.part`` then stays."""
    sidecar = _sidecar_of(part)
    meta = _read_sidecar(sidecar)
    sr = int(meta.get("sample_rate") or ASSUMED_RATE_HZ)
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
    return RecoveredTake(wav, meta, meta["frames"] / int(meta.get("sample_rate") or ASSUMED_RATE_HZ), _Hold(fd))


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

