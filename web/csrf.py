"""CSRF protection: a random token in the signed session, required on every state-changing request.

Forms send it as the ``csrf_token`` field, the page's fetch calls as the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def _check() -> None:
    if request.method in SAFE_METHODS or request.endpoint in (None, "static"):
        return
    expected = session.get("csrf_token")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form or request is missing its security token (CSRF). Reload the page "
                               "and try again.")


def init_app(app) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
