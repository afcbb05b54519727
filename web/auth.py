"""Login (users in the database, see :mod:`voicerehearse.accounts`) and who may see what.

Coaches see every trainee; a trainee account sees only its own sessions. Every page but the login form
and /health needs a login. A login cookie holds the user's ``session_version``: logout and a password change
raise it, so cookies issued before stop working. Failed logins are throttled per account name and per client
address, with a backoff that doubles on each failure past the free ones (HTTP 429 with Retry-After).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from voicerehearse.accounts import add_user, check_login, hash_password, revoke_sessions  # noqa: F401 (re-exported)
from voicerehearse.store import PracticeSession, Trainee, Turn, User, valid_id
from voicerehearse.web.db import close_db, get_db
from voicerehearse.web.errors import wants_json

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"auth.login", "static", "health"}
MAX_PASSWORD_CHARS = 1024  # longer ones are wrong without hashing them (scrypt of megabytes costs seconds)
MAX_NEXT_CHARS = 2000

DEFAULTS = {  # app.config keys of the login rules; tests and deployments may override them
    "LOGIN_FREE_FAILURES_PER_ACCOUNT": 5,  # failed logins for one user name before the backoff starts
    "LOGIN_FREE_FAILURES_PER_ADDRESS": 20,  # failed logins from one client address before the backoff starts
    "LOGIN_BACKOFF_BASE_S": 1.0,  # first lock-out; doubles with every further failure
    "LOGIN_BACKOFF_MAX_S": 900.0,  # longest lock-out
    "LOGIN_FORGET_S": 3600.0,  # failures are forgotten this long after the last one
    "LOGIN_CONCURRENT_CHECKS": 2,  # password hashes computed at once (each takes a core for a moment)
    "LOGIN_CHECK_WAIT_S": 2.0,  # a login waits this long for a free slot before getting a 429
}


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Failed attempts per key. After ``free`` failures, each further one locks the key for
    ``base_s * 2**(extra-1)`` seconds (at most ``max_s``); a success or ``forget_s`` of quiet clears it.

    >>> clock = [0.0]
    >>> t = LoginThrottle(free=2, base_s=1, max_s=8, forget_s=60, clock=lambda: clock[0])
    >>> for _ in range(4): t.failed("k")
    >>> t.retry_after("k")  # the 3rd failure locked 1 s, the 4th 2 s
    2.0
    >>> clock[0] = 2.0; t.retry_after("k")
    0.0
    """

    def __init__(self, *, free: int, base_s: float, max_s: float, forget_s: float, clock=time.monotonic,
                 max_keys: int = 10000):
        self.free, self.base_s, self.max_s, self.forget_s = free, base_s, max_s, forget_s
        self.clock, self.max_keys = clock, max_keys
        self._keys: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            entry = self._keys.get(key)
            return max(0.0, entry.locked_until - self.clock()) if entry else 0.0

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            entry = self._keys.get(key)
            if entry is None or now - entry.last > self.forget_s:
                self._make_room(now)
                entry = self._keys[key] = _Failures()
            entry.count += 1
            entry.last = now
            extra = entry.count - self.free
            if extra > 0:
                entry.locked_until = now + min(self.max_s, self.base_s * 2 ** min(extra - 1, 60))

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def _make_room(self, now: float) -> None:
        if len(self._keys) < self.max_keys:
            return
        for key in [k for k, e in self._keys.items() if now - e.last > self.forget_s]:
            del self._keys[key]
        while len(self._keys) >= self.max_keys:  # still full: forget the oldest
            del self._keys[min(self._keys, key=lambda k: self._keys[k].last)]


def _throttles() -> dict:
    return current_app.extensions["voicerehearse.login"]


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        user = get_db().get(User, user_id)
        if user is not None and session.get("version") == user.session_version:
            g.user = user
        else:  # logged out, password changed or user removed since this cookie was issued
            session.clear()
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if wants_json() or request.method not in ("GET", "HEAD"):
            abort(401, description="Log in first.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def is_coach() -> bool:
    return g.user is not None and g.user.role == "coach"


def require_coach() -> None:
    if not is_coach():
        abort(403, description="Only coaches can do this.")


def can_see_trainee(trainee_id: int) -> bool:
    return is_coach() or (g.user is not None and g.user.trainee_id == trainee_id)


def visible_trainees(db) -> list[Trainee]:
    query = select(Trainee).order_by(Trainee.name)
    if not is_coach():
        query = query.where(Trainee.id == (g.user.trainee_id if g.user else -1))
    return list(db.scalars(query))


def _get_or_404(model, row_id: int, what: str):
    row = get_db().get(model, row_id) if valid_id(row_id) else None
    if row is None:
        abort(404, description=f"No {what} {row_id}.")
    return row


def get_trainee_or_404(trainee_id: int) -> Trainee:
    trainee = _get_or_404(Trainee, trainee_id, "trainee")
    if not can_see_trainee(trainee.id):  # 404 either way: do not reveal who exists
        abort(404, description=f"No trainee {trainee_id}.")
    return trainee


def get_session_or_404(session_id: int) -> PracticeSession:
    practice = _get_or_404(PracticeSession, session_id, "session")
    if not can_see_trainee(practice.trainee_id):
        abort(404, description=f"No session {session_id}.")
    return practice


def get_turn_or_404(turn_id: int) -> Turn:
    turn = _get_or_404(Turn, turn_id, "turn")
    if not can_see_trainee(turn.session.trainee_id):
        abort(404, description=f"No turn {turn_id}.")
    return turn


def safe_next(target: str | None) -> str:
    """``target`` when it is a page of this server (a path: no scheme, host, backslash or control character),
    else the front page.

    >>> safe_next("/sessions/1?x=2"), safe_next("//evil.example"), safe_next("/\\\\evil.example")
    ('/sessions/1?x=2', '/', '/')
    """
    fallback = url_for("trainees.index") if current_app else "/"
    if not target or len(target) > MAX_NEXT_CHARS or not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return fallback
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else fallback


def _too_many(seconds: float, message: str):
    wait = max(1, math.ceil(seconds))
    body = render_template("login.html", error=f"{message} Try again in {wait} s.")
    return body, 429, {"Retry-After": str(wait)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method != "POST":
        return render_template("login.html", error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    rules = _throttles()
    account, address = f"user:{username.casefold()}", f"addr:{request.remote_addr or '?'}"
    wait = max(rules["account"].retry_after(account), rules["address"].retry_after(address))
    if wait > 0:
        return _too_many(wait, "Too many failed logins.")
    user = None
    if len(password) <= MAX_PASSWORD_CHARS and len(username) <= 120:
        if not rules["checks"].acquire(timeout=current_app.config["LOGIN_CHECK_WAIT_S"]):
            return _too_many(1, "The server is busy checking other logins.")
        try:
            user = check_login(get_db(), username, password)
        finally:
            rules["checks"].release()
    if user is None:
        rules["account"].failed(account)
        rules["address"].failed(address)
        return render_template("login.html", error="Unknown user name or wrong password."), 401
    rules["account"].succeeded(account)
    session.clear()  # a fresh session (and CSRF token) on every login
    session["user_id"] = user.id
    session["version"] = user.session_version
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    if g.user is not None:  # every cookie of this user stops working, including copies taken before
        db = get_db()
        revoke_sessions(db, g.user)
        db.commit()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    cfg = app.config
    common = dict(base_s=cfg["LOGIN_BACKOFF_BASE_S"], max_s=cfg["LOGIN_BACKOFF_MAX_S"], forget_s=cfg["LOGIN_FORGET_S"])
    app.extensions["voicerehearse.login"] = {
        "account": LoginThrottle(free=cfg["LOGIN_FREE_FAILURES_PER_ACCOUNT"], **common),
        "address": LoginThrottle(free=cfg["LOGIN_FREE_FAILURES_PER_ADDRESS"], **common),
        "checks": threading.BoundedSemaphore(max(1, cfg["LOGIN_CONCURRENT_CHECKS"])),
    }
    app.before_request(_load_user)
    app.teardown_appcontext(close_db)
    app.context_processor(lambda: {"current_user": g.get("user"), "is_coach": is_coach()})
