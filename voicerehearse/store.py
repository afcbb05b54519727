"""Sessions, turns, baselines, comments and users in a real database (SQLite by default, WAL mode).

Audio files live under ``<data_dir>/audio``, or in the folder the ``audio_dir`` setting names (one folder several
workstations share); the database stores them as ``audio/<path in that folder>``, and :meth:`Store.resolve_audio`
refuses any path that would leave it.

Safe with many writers at once (several `import` processes, the web server's threads): the schema is brought to
the newest migration (voicerehearse/migrations, Alembic) once, under a lock — a file lock in the data directory
for SQLite, an advisory lock for PostgreSQL — and :func:`get_or_create_trainee` is idempotent
(``INSERT ... ON CONFLICT DO NOTHING``).

>>> import tempfile
>>> store = Store.open(tempfile.mkdtemp())
>>> with store.session() as db:
...     t = get_or_create_trainee(db, "Dana")
...     db.commit()
...     t.name
'Dana'
"""

from __future__ import annotations

import importlib.util
import os
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voicerehearse.errors import VoiceRehearseError
# the tables and the summaries live in their own modules; the store is where callers find them (one import)
from voicerehearse.store_models import (Base, BaselineRecord, Comment, CommentReply, JobRow,  # noqa: F401
                                        PracticeSession, ScorecardAnswers, SessionReview, Trainee, Turn, User, _now)
from voicerehearse.store_summaries import (SUMMARY_COLUMNS, SUMMARY_VERSION,  # noqa: F401
                                           _backfill_session_summaries, refresh_session_summaries)

DATA_DIR_ENV = "VOICEREHEARSE_DATA_DIR"
SCHEMA_LOCK_FILE = ".schema.lock"  # in the data directory: one process at a time creates / upgrades the schema
SQLITE_BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another writer's transaction before giving up
MAX_ID = 2**31 - 1  # largest row id every backend stores (PostgreSQL's INTEGER keys); larger ids name no row


class StoreError(VoiceRehearseError):
    """The database or the data directory cannot be used."""


def default_data_dir(settings=None) -> Path:
    """``data_dir`` setting, else ``$VOICEREHEARSE_DATA_DIR``, else the platform's user data directory."""
    configured = getattr(settings, "data_dir", "") if settings is not None else ""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("voicerehearse"))


def _shown(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL
        return "(unparsable database_url)"


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is not None:
        url = "postgresql+psycopg://" + url[len("postgresql://"):]  # psycopg 3 rather than the psycopg2 default
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(f"the database driver is not installed ({exc.name}); for PostgreSQL: "
                         "pip install 'psycopg[binary]'") from None


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (fcntl on POSIX, msvcrt on Windows), held for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _create_schema(engine: Engine) -> None:
    """Bring the database to the newest migration (creating it, or adopting one made before migrations), once,
    whoever races."""
    from voicerehearse import migrations

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # other servers may share the database: lock inside it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": zlib.crc32(b"voicerehearse.schema")})
        migrations.upgrade(conn)
        _backfill_session_summaries(conn)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The database, the data directory and the audio folder. One per process (or per app / test).

    Stored audio paths start with ``audio/`` and are resolved against :attr:`audio_root` — ``<data_dir>/audio``
    by default, or the ``audio_dir`` setting: one folder several workstations share (imports are named by their
    content there, see :mod:`voicerehearse.sessions`, so two machines storing the same take never clash).
    """

    def __init__(self, engine: Engine, data_dir: Path, audio_root: Path | None = None):
        self.engine = engine
        self.data_dir = data_dir
        self.audio_root = audio_root or data_dir / "audio"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, url: str = "", settings=None,
             audio_dir: str | os.PathLike = "") -> "Store":
        """Open (and create) the store: ``url`` or the ``database_url`` setting, else SQLite in ``data_dir``;
        recordings in ``audio_dir`` or the ``audio_dir`` setting, else ``<data_dir>/audio``."""
        data_dir = Path(data_dir) if data_dir else default_data_dir(settings)
        url = url or (getattr(settings, "database_url", "") if settings is not None else "")
        audio_dir = audio_dir or (getattr(settings, "audio_dir", "") if settings is not None else "")
        try:  # recordings, transcripts and password hashes: readable by their owner only
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data_dir / "audio").mkdir(mode=0o700, exist_ok=True)
            for path in (data_dir, data_dir / "audio"):
                path.chmod(0o700)
        except OSError as exc:
            raise StoreError(f"cannot use data directory {data_dir}: {exc.strerror}") from None
        audio_root = None
        if audio_dir:  # a shared folder: its owner sets who may read it (a group of workstations), not us
            audio_root = Path(audio_dir).expanduser()
            try:
                audio_root.mkdir(mode=0o700, parents=True, exist_ok=True)
                audio_root = audio_root.resolve(strict=True)
            except OSError as exc:
                raise StoreError(f"cannot use audio folder {audio_dir}: {exc.strerror}") from None
        url = url or f"sqlite:///{data_dir / 'voicerehearse.db'}"
        try:
            engine = _engine(url)
            with _file_lock(data_dir / SCHEMA_LOCK_FILE):
                _create_schema(engine)
                if engine.dialect.name == "sqlite" and engine.url.database:
                    Path(engine.url.database).chmod(0o600)  # WAL/SHM files take the database's mode
        except StoreError:
            raise
        except Exception as exc:  # driver errors differ per backend
            raise StoreError(f"cannot open database {_shown(url)}: {exc}") from None
        return cls(engine, data_dir.resolve(), audio_root)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as db:
            yield db

    def audio_dir(self, *parts: str) -> Path:
        path = self.audio_root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        """How a file in the audio folder (``audio/...``) or elsewhere under the data directory is stored."""
        path = Path(path).resolve()
        if path.is_relative_to(self.audio_root):
            return "audio/" + path.relative_to(self.audio_root).as_posix()
        return path.relative_to(self.data_dir).as_posix()

    def resolve_audio(self, relative: str) -> Path:
        """The absolute path of a stored audio file; StoreError if it would leave the audio folder (for
        ``audio/...``) or the data directory."""
        first, _, rest = relative.partition("/")
        if first == "audio" and rest:
            base, where, path = self.audio_root, "audio folder", self.audio_root / rest
        else:
            base, where, path = self.data_dir, "data directory", self.data_dir / relative
        path = path.resolve()
        if not path.is_relative_to(base):
            raise StoreError(f"refusing a path outside the {where}: {relative}")
        return path


def get_or_create_trainee(db: Session, name: str) -> Trainee:
    """The trainee called ``name`` (surrounding spaces ignored), created on first use; StoreError for a
    blank or over-long name. Safe when other processes create the same trainee at the same moment."""
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise StoreError("a trainee's name needs 1 to 120 characters")
    trainee = db.scalar(select(Trainee).where(Trainee.name == name))
    if trainee is not None:
        return trainee
    dialect = db.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        db.flush()  # pending objects first, in this transaction
        db.execute(insert(Trainee).values(name=name, created_at=_now()).on_conflict_do_nothing(index_elements=["name"]))
    else:  # any other backend: try, and on a unique clash roll back to the savepoint and read the winner's row
        try:
            with db.begin_nested():
                db.add(Trainee(name=name))
        except IntegrityError:
            pass
    trainee = db.scalar(select(Trainee).where(Trainee.name == name))
    if trainee is None:  # pragma: no cover - the row exists by now unless the database lost it
        raise StoreError(f"could not create trainee {name!r}")
    return trainee


def valid_id(value: int) -> bool:
    """Whether ``value`` can name a stored row (1 .. MAX_ID); anything else names nothing (a 404, not a crash)."""
    return 0 < value <= MAX_ID
