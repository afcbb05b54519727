"""Where a rehearsal's audio goes (:func:`trainee_folder`) and how a failed store is told: a database or disk
failure (``STORE_FAILURES``) becomes a one-line :class:`StoreError` that says whether the take was kept for the
next start."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from voicerehearse.store import StoreError


# failures of the database or the disk while storing a take: the take is kept (with its sidecar) for a later run
STORE_FAILURES = (SQLAlchemyError, sqlite3.Error, OSError)


def _slug(name: str) -> str:
    """A readable folder name: letters of any script and digits ("Анна" -> "анна"), at most 40 characters."""
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", name).casefold()).strip("-")
    return slug[:40].strip("-") or "trainee"


def trainee_folder(trainee_id: int, name: str) -> str:
    """``<slug>-<id>``: the database id keeps two trainees apart even when their names slug alike."""
    return f"{_slug(name)}-{trainee_id}"


def _describe(exc: BaseException) -> str:
    """One line for a database or disk failure: SQLAlchemy's driver error (``OperationalError: database is
    locked``), without the SQL and the link SQLAlchemy adds."""
    exc = getattr(exc, "orig", None) or exc
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _store_failure(what: str, exc: BaseException, kept: Path | None = None) -> StoreError:
    keep = f"; the take is kept in {kept} and will be stored at the next start" if kept is not None else ""
    return StoreError(f"cannot store {what}: {_describe(exc)}{keep}")
