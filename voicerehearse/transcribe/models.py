"""Vosk model management: the manifest of known models, resolution, verification and explicit download.

Resolution order (first hit wins; see docs/transcription.md):

1. ``model`` argument (``--model PATH``)
2. ``$VOICEREHEARSE_VOSK_MODEL``
3. the ``vosk_model`` setting
4. the first usable model folder in ``audio_models/`` (repository) or the user data dir
   (``$XDG_DATA_HOME/voicerehearse/models``, default ``~/.local/share/voicerehearse/models``)
5. ``None``: the caller falls back to PocketSphinx

A path given explicitly (1-3) must be a complete model, else ModelNotFoundError / ModelError; folders found by
searching (4) that are incomplete are skipped. Nothing here downloads unless :func:`fetch` is called.

>>> info = load_manifest()["vosk-model-small-en-us-0.15"]
>>> info.language, info.downloadable
('en-us', True)
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import shutil
import stat
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voicerehearse import audio_models
from voicerehearse.errors import ModelError, ModelNotFoundError

MODEL_ENV = "VOICEREHEARSE_VOSK_MODEL"
REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "audio_models"  # a source checkout's model folder
MANIFEST_PATH = Path(audio_models.__file__).with_name("manifest.toml")  # shipped in the wheel too
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
DEFAULT_REQUIRED = (
    "am/final.mdl",
    "conf/mfcc.conf",
    "conf/model.conf",
    "graph/HCLG.fst|graph/HCLr.fst+graph/Gr.fst",
    "graph/phones/word_boundary.int",
)
_KALDI_BINARY = b"\0B"  # header of Kaldi binary files such as am/final.mdl
_FST_MAGIC = bytes.fromhex("d6fdb27e")  # OpenFst magic number, little-endian
_CHUNK_BYTES = 1 << 16

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None when unknown)


@dataclass(frozen=True)
class ModelInfo:
    """One ``[[model]]`` entry of audio_models/manifest.toml."""

    name: str  # folder name after extraction, and the `fetch` argument
    language: str
    size_mb: float | None  # approximate download size
    url: str | None  # zip to download; None for pip-installed models
    sha256: str | None  # checksum of the zip; None when not established
    required: tuple[str, ...]  # files the folder must hold ("a|b+c" = a, or both b and c)
    pip: str | None = None  # PyPI package shipping the model ("installed via pip")
    module: str | None = None  # importable module of that package
    note: str = ""
    use: str = ""  # what the model is for: "live" (practice takes), "calls" (imported call audio), "tests"

    @property
    def downloadable(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class ResolvedModel:
    path: Path
    source: str  # "argument", "environment", "settings", or the searched folder it was found in


@dataclass(frozen=True)
class ModelCheck:
    """What :func:`verify_model` found in a complete model folder."""

    path: Path
    sample_rate_hz: int  # from conf/mfcc.conf --sample-frequency (Kaldi's default 16000)
    graph: str  # "static" (HCLG.fst) or "lookahead" (HCLr.fst + Gr.fst)


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, ModelInfo]:
    """Known models by name, in manifest order. Raises ModelError for an unreadable manifest."""
    path = Path(path) if path is not None else MANIFEST_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"model manifest {path} is not valid TOML: {exc}") from None
    default_required = _strings(data.get("required", list(DEFAULT_REQUIRED)), "required", path)
    models: dict[str, ModelInfo] = {}
    for i, entry in enumerate(data.get("model", [])):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ModelError(f"{path}: model entry {i} needs a name")
        name = entry["name"]
        if "/" in name or "\\" in name or name.startswith("."):
            raise ModelError(f"{path}: model name {name!r} must be a plain folder name")
        size = entry.get("size_mb")
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float))):
            raise ModelError(f"{path}: {name}: size_mb must be a number")
        sha = (entry.get("sha256") or "").strip().lower() or None
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            raise ModelError(f"{path}: {name}: sha256 must be 64 hex digits or empty")
        models[name] = ModelInfo(
            name=name,
            language=str(entry.get("language", "")),
            size_mb=float(size) if size is not None else None,
            url=entry.get("url") or None,
            sha256=sha,
            required=_strings(entry["required"], f"{name}.required", path) if "required" in entry else default_required,
            pip=entry.get("pip") or None,
            module=entry.get("module") or None,
            note=str(entry.get("note", "")),
            use=str(entry.get("use", "")),
        )
    return models


def _strings(value: object, what: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ModelError(f"{path}: {what} must be a list of file paths")
    return tuple(value)


def user_models_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/voicerehearse/models`` (default ``~/.local/share/voicerehearse/models``).

    >>> user_models_dir({"XDG_DATA_HOME": "/data"}).as_posix()
    '/data/voicerehearse/models'
    """
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "voicerehearse" / "models"


def search_dirs(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Folders searched for model folders, in order: the repository's audio_models/, then the user data dir."""
    return (REPO_MODELS_DIR, user_models_dir(env))


def installed_path(info: ModelInfo, dirs: tuple[Path, ...] | None = None) -> Path | None:
    """Where a known model is installed (a searched folder, or its pip package), or None."""
    if info.module:
        spec = importlib.util.find_spec(info.module)
        if spec is not None and spec.origin:
            candidate = Path(spec.origin).parent / "model"
            if candidate.is_dir():
                return candidate
    for folder in dirs if dirs is not None else search_dirs():
        if (folder / info.name).is_dir():
            return folder / info.name
    return None


def resolve_model(
    model: str | os.PathLike | None = None,
    *,
    settings=None,
    env: Mapping[str, str] | None = None,
    dirs: tuple[Path, ...] | None = None,
) -> ResolvedModel | None:
    """The Vosk model folder to use, following the documented order; None when there is none.

    ``settings`` is a Settings object (its ``vosk_model``) or None; ``env`` defaults to ``os.environ``;
    ``dirs`` defaults to :func:`search_dirs`.
    """
    env = os.environ if env is None else env
    explicit = (
        (model, "argument"),
        (env.get(MODEL_ENV), "environment"),
        (getattr(settings, "vosk_model", None), "settings"),
    )
    for value, source in explicit:
        if value is not None and str(value).strip():
            path = Path(os.path.expanduser(str(value))).resolve()
            verify_model(path, what=_SOURCE_LABEL[source])
            return ResolvedModel(path, source)
    for folder in dirs if dirs is not None else search_dirs(env):
        for candidate in _candidates(folder):
            try:
                verify_model(candidate)
            except (ModelError, ModelNotFoundError):
                continue  # incomplete folders found by searching are skipped, not fatal
            return ResolvedModel(candidate, str(folder))
    return None


_SOURCE_LABEL = {"argument": "--model", "environment": MODEL_ENV, "settings": "setting vosk_model"}


def _candidates(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def verify_model(
    path: str | os.PathLike, *, required: tuple[str, ...] = DEFAULT_REQUIRED, what: str = "model"
) -> ModelCheck:
    """Check a Kaldi/Vosk model folder holds every required file, non-empty and with the right headers.

    Raises ModelNotFoundError when the folder is missing, ModelError when it is incomplete or corrupt.
    """
    path = Path(path)
    if not path.is_dir():
        hint = " (it is a file: pass the unzipped model folder)" if path.is_file() else ""
        raise ModelNotFoundError(f"{what} {path}: no such model folder{hint}")
    missing = [entry for entry in required if not _present(path, entry)]
    if missing:
        raise ModelError(
            f"{what} {path} is incomplete: missing {', '.join(missing)} "
            "(unzip the whole model archive again, or fetch it with `voicerehearse models fetch`)"
        )
    _check_header(path / "am" / "final.mdl", _KALDI_BINARY, what)
    lookahead = (path / "graph" / "HCLr.fst").is_file() and (path / "graph" / "Gr.fst").is_file()
    graphs = ("HCLr.fst", "Gr.fst") if lookahead else ("HCLG.fst",)
    for name in graphs:
        if (path / "graph" / name).is_file():
            _check_header(path / "graph" / name, _FST_MAGIC, what)
    return ModelCheck(path, model_sample_rate(path), "lookahead" if lookahead else "static")


def _present(root: Path, entry: str) -> bool:
    return any(
        all(_nonempty(root / part) for part in alternative.split("+")) for alternative in entry.split("|")
    )


def _nonempty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _check_header(path: Path, magic: bytes, what: str) -> None:
    with open(path, "rb") as f:
        head = f.read(len(magic))
    if head != magic:
        root = path.parent.parent
        raise ModelError(f"{what} {root}: {path.relative_to(root)} is corrupt (unexpected header)")


def model_sample_rate(path: str | os.PathLike) -> int:
    """The rate the model expects, from ``--sample-frequency`` in conf/mfcc.conf (Kaldi default 16000 Hz)."""
    try:
        lines = (Path(path) / "conf" / "mfcc.conf").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 16000
    for line in lines:
        key, _, value = line.split("#", 1)[0].strip().partition("=")
        if key == "--sample-frequency":
            try:
                return int(float(value))
            except ValueError:
                raise ModelError(f"{path}: conf/mfcc.conf has an invalid --sample-frequency {value!r}") from None
    return 16000


def default_fetch_dir(env: Mapping[str, str] | None = None) -> Path:
    """The repository's audio_models/ when it exists and is writable, else the user data dir."""
    if REPO_MODELS_DIR.is_dir() and os.access(REPO_MODELS_DIR, os.W_OK):
        return REPO_MODELS_DIR
    return user_models_dir(env)


def manual_install_hint(info: ModelInfo | None, dest: Path) -> str:
    if info is not None and info.pip:
        return f"install it with `pip install {info.pip}`"
    url = info.url if info is not None and info.url else "https://alphacephei.com/vosk/models"
    name = info.name if info is not None else "<model>"
    return (
        f"to install it by hand, download {url} on a connected machine, unzip it and copy the folder "
        f"{name}/ into {dest}/ (or pass --model PATH, or set {MODEL_ENV})"
    )


def fetch(
    name: str,
    dest: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    manifest: Mapping[str, ModelInfo] | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download model ``name`` as a zip, verify it and unpack it to ``dest/name``; returns that folder.

    ``url``/``sha256`` override the manifest (unknown names need ``url``). The archive is written to a ``.part``
    file and unpacked into a temporary folder inside ``dest`` that is renamed into place only once the model
    verifies, so an interrupted or failed fetch leaves nothing behind. An existing complete folder is returned
    as is. Raises ModelNotFoundError (unknown name, network failure) or ModelError (checksum, bad archive).
    """
    manifest = load_manifest() if manifest is None else manifest
    info = manifest.get(name)
    dest = Path(dest) if dest is not None else default_fetch_dir()
    if info is None and url is None:
        raise ModelNotFoundError(f"unknown model {name!r}; known: {', '.join(manifest) or 'none'} (or pass a URL)")
    if "/" in name or "\\" in name or name.startswith("."):
        raise ModelError(f"model name {name!r} must be a plain folder name")
    url = url or (info.url if info else None)
    if not url:
        raise ModelNotFoundError(f"{name} is not downloaded by VoiceRehearse: {manual_install_hint(info, dest)}")
    expected = (sha256 or (info.sha256 if info else None) or "").lower() or None
    required = info.required if info else DEFAULT_REQUIRED
    target = dest / name
    if target.exists():
        verify_model(target, required=required, what=f"existing {name}")
        return target
    try:
        dest.mkdir(parents=True, exist_ok=True)
        handle, part_name = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".zip.part")
    except OSError as exc:
        raise ModelError(f"cannot write models into {dest}: {exc.strerror or exc}") from None
    os.close(handle)
    part = Path(part_name)
    try:
        digest = _download(url, part, progress=progress, timeout_s=timeout_s, hint=manual_install_hint(info, dest))
        if expected is not None and digest != expected:
            raise ModelError(f"{name}: checksum mismatch (sha256 {digest}, expected {expected}); the download is corrupt")
        staging = Path(tempfile.mkdtemp(dir=dest, prefix=f".{name}.", suffix=".unpack"))
        try:
            root = _extract(part, staging, name)
            verify_model(root, required=required, what=f"downloaded {name}")
            try:
                os.rename(root, target)  # atomic within dest: the folder appears complete or not at all
            except OSError as exc:
                raise ModelError(f"cannot move {name} into place at {target}: {exc.strerror or exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        part.unlink(missing_ok=True)
    return target


def _download(url: str, part: Path, *, progress: Progress | None, timeout_s: float, hint: str) -> str:
    """Stream ``url`` into ``part``; returns the sha256 hex digest."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if total is not None and done != total:
                raise ModelNotFoundError(f"download of {url} was interrupted after {done} of {total} bytes; {hint}")
    except urllib.error.HTTPError as exc:
        raise ModelNotFoundError(f"cannot download {url}: HTTP {exc.code} {exc.reason}; {hint}") from None
    except urllib.error.URLError as exc:
        raise ModelNotFoundError(f"cannot download {url} (offline?): {exc.reason}; {hint}") from None
    except http.client.IncompleteRead as exc:
        raise ModelNotFoundError(f"download of {url} was interrupted after {len(exc.partial)} more bytes; {hint}") from None
    except (http.client.HTTPException, OSError) as exc:
        raise ModelNotFoundError(f"download of {url} failed: {exc}; {hint}") from None
    return digest.hexdigest()


def _extract(archive: Path, staging: Path, name: str) -> Path:
    """Unpack ``archive`` into ``staging`` safely; returns the model root (the single top folder, if any)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise ModelError(f"{name}: the archive holds an unsafe path {member.filename!r}")
                if stat.S_ISLNK(member.external_attr >> 16):
                    raise ModelError(f"{name}: the archive holds a symbolic link {member.filename!r}")
            zf.extractall(staging)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{name}: the download is not a valid zip archive ({exc})") from None
    entries = [p for p in staging.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
