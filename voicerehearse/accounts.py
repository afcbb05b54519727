"""Logins of the web report: create, check, change, remove. Password hashes are werkzeug's (scrypt).

Coaches see every trainee; a trainee account (``trainee_id`` set) sees only its own sessions. Checking a login
costs the same whether or not the user exists (an unknown name is checked against a dummy hash), and
:func:`set_password` and :func:`revoke_sessions` raise the user's ``session_version`` so every cookie issued
before stops working.

>>> import tempfile
>>> from voicerehearse.store import Store
>>> store = Store.open(tempfile.mkdtemp())
>>> with store.session() as db:
...     _ = add_user(db, "alex", "long enough pw")
...     check_login(db, "alex", "long enough pw").username, check_login(db, "nobody", "long enough pw")
('alex', None)
"""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from voicerehearse.errors import ConfigError
from voicerehearse.store import Comment, Trainee, User

DEFAULT_MIN_PASSWORD_LENGTH = 10  # the ``min_password_length`` setting's default


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password made the same way as real ones: unknown users cost as much to check."""
    return hash_password(secrets.token_urlsafe(16))


def _check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise ConfigError(f"a password needs at least {min_length} characters")
    if len(password) > 1024:
        raise ConfigError("a password holds at most 1024 characters")


def find_user(db, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username.strip()))


def get_user(db, username: str) -> User:
    """The user called ``username``; ConfigError when there is none."""
    user = find_user(db, username)
    if user is None:
        raise ConfigError(f"no user {username.strip()!r}")
    return user


def add_user(db, username: str, password: str, trainee: Trainee | None = None, *,
             min_length: int = DEFAULT_MIN_PASSWORD_LENGTH) -> User:
    """Create a login: a coach, or (with ``trainee``) a trainee who sees only their own sessions."""
    username = username.strip()
    if not username or len(username) > 120:
        raise ConfigError("a user name needs 1 to 120 characters")
    _check_password(password, min_length)
    if find_user(db, username) is not None:
        raise ConfigError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password),
                role="trainee" if trainee is not None else "coach",
                trainee_id=trainee.id if trainee is not None else None)
    db.add(user)
    db.flush()
    return user


def check_login(db, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None; the same work for unknown names as for known ones."""
    user = find_user(db, username)
    ok = check_password_hash(user.password_hash if user is not None else _dummy_hash(), password)
    return user if ok and user is not None else None


def revoke_sessions(db, user: User) -> None:
    """Every login cookie issued to ``user`` so far stops working (logout, password change)."""
    db.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    db.refresh(user)


def set_password(db, username: str, password: str, *, min_length: int = DEFAULT_MIN_PASSWORD_LENGTH) -> User:
    """Change a user's password and log them out everywhere."""
    user = get_user(db, username)
    _check_password(password, min_length)
    user.password_hash = hash_password(password)
    db.flush()
    revoke_sessions(db, user)
    return user


def remove_user(db, username: str) -> User:
    """Delete a login; their comments stay, without an author."""
    user = get_user(db, username)
    db.execute(update(Comment).where(Comment.author_id == user.id).values(author_id=None))
    db.delete(user)
    db.flush()
    return user


def list_users(db) -> list[tuple[User, Trainee | None]]:
    """Every login with the trainee it is limited to (None for coaches), by name."""
    users = db.scalars(select(User).order_by(User.username))
    return [(u, db.get(Trainee, u.trainee_id) if u.trainee_id else None) for u in users]
