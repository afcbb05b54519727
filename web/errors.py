"""One error page and one JSON error shape for the whole app.

JSON (for ``/api/`` paths and clients that ask for JSON)::

    {"error": {"status": 404, "title": "Not Found", "message": "..."}}
"""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from voicerehearse.errors import VoiceRehearseError


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, title: str, message: str):
    if wants_json():
        resp = jsonify(error={"status": status, "title": title, "message": message})
    else:
        resp = make_response(render_template("error.html", status=status, title=title, message=message))
    return resp, status


def _http_error(exc: HTTPException):
    message = exc.description or ""
    if isinstance(exc, RequestEntityTooLarge):
        from flask import current_app

        message = f"The upload is larger than the limit of {current_app.config['MAX_UPLOAD_MB']:g} MB."
    resp, status = error_response(exc.code or 500, exc.name, message)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            resp.headers[key] = value
    return resp, status


def _domain_error(exc: VoiceRehearseError):
    return error_response(400, "Bad Request", str(exc))


def init_app(app) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(VoiceRehearseError, _domain_error)
