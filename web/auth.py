"""Login (users in the database, werkzeug password hashes) and who may see what.

Coaches see every trainee; a trainee account sees only its own sessions. Every page but the login form
and /health needs a login.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from voicerehearse.store import PracticeSession, Trainee, Turn, User
from voicerehearse.web.db import close_db, get_db
from voicerehearse.web.errors import wants_json

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"auth.login", "static", "health"}


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def add_user(db, username: str, password: str, trainee: Trainee | None = None) -> User:
    """Create a login: a coach, or (with ``trainee``) a trainee who sees only their own sessions."""
    from voicerehearse.errors import ConfigError

    username = username.strip()
    if not username or len(username) > 120:
        raise ConfigError("a user name needs 1 to 120 characters")
    if len(password) < 4:
        raise ConfigError("a password needs at least 4 characters")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise ConfigError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password),
                role="trainee" if trainee is not None else "coach",
                trainee_id=trainee.id if trainee is not None else None)
    db.add(user)
    db.flush()
    return user


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        g.user = get_db().get(User, user_id)
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


def get_trainee_or_404(trainee_id: int) -> Trainee:
    trainee = get_db().get(Trainee, trainee_id)
    if trainee is None or not can_see_trainee(trainee.id):  # 404 either way: do not reveal who exists
        abort(404, description=f"No trainee {trainee_id}.")
    return trainee


def get_session_or_404(session_id: int) -> PracticeSession:
    practice = get_db().get(PracticeSession, session_id)
    if practice is None or not can_see_trainee(practice.trainee_id):
        abort(404, description=f"No session {session_id}.")
    return practice


def get_turn_or_404(turn_id: int) -> Turn:
    turn = get_db().get(Turn, turn_id)
    if turn is None or not can_see_trainee(turn.session.trainee_id):
        abort(404, description=f"No turn {turn_id}.")
    return turn


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("trainees.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = get_db().scalar(select(User).where(User.username == username))
        if user is None or not check_password_hash(user.password_hash, password):
            error = "Unknown user name or wrong password."
        else:
            session.clear()  # a fresh session (and CSRF token) on every login
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    app.before_request(_load_user)
    app.teardown_appcontext(close_db)
    app.context_processor(lambda: {"current_user": g.get("user"), "is_coach": is_coach()})
