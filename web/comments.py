"""Coach comments pinned to a moment or a span of a turn: a small JSON API used by the replay page.

GET/POST ``/api/turns/<id>/comments``, PATCH/DELETE ``/api/comments/<id>``. Trainees may read the
comments on their own sessions; only coaches write them.
"""

from __future__ import annotations

import math

from flask import Blueprint, abort, g, jsonify, request

from voicerehearse.report import author_names, comment_view, replies_of
from voicerehearse.store import Comment, valid_id
from voicerehearse.web.auth import get_turn_or_404, require_coach
from voicerehearse.web.db import get_db

bp = Blueprint("comments", __name__, url_prefix="/api")

MAX_TEXT = 2000


def _view(comment: Comment, replies=None) -> dict:
    db = get_db()
    if replies is None:
        replies = replies_of(db, [comment.id]).get(comment.id, ())
    return comment_view(comment, author_names(db), replies).as_json()


def _number(value, name: str, *, required: bool):
    if value is None or value == "":
        if required:
            abort(400, description=f"'{name}' is required (seconds from the start of the recording).")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        abort(400, description=f"'{name}' must be a number of seconds, got {value!r}.")
    if not math.isfinite(number) or number < 0:
        abort(400, description=f"'{name}' must be a time of at least 0 s.")
    return round(number, 3)


def _fields(body: dict, turn, partial: bool) -> dict:
    out = {}
    if not partial or "text" in body:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            abort(400, description="A comment needs some text.")
        if len(text) > MAX_TEXT:
            abort(400, description=f"A comment holds at most {MAX_TEXT} characters.")
        out["text"] = text.strip()
    if not partial or "start_s" in body:
        out["start_s"] = _number(body.get("start_s"), "start_s", required=True)
    if not partial or "end_s" in body:
        out["end_s"] = _number(body.get("end_s"), "end_s", required=False)
    start = out.get("start_s")
    end = out.get("end_s")
    duration = turn.duration_s
    for value in (start, end):
        if value is not None and duration and value > duration + 0.05:
            abort(400, description=f"Times must lie within the recording (0 to {duration:.2f} s).")
    if start is not None and end is not None and end < start:
        abort(400, description="'end_s' must not be before 'start_s'.")
    return out


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="Send the comment as a JSON object.")
    return body


@bp.get("/turns/<int:turn_id>/comments")
def list_comments(turn_id: int):
    turn = get_turn_or_404(turn_id)
    replies = replies_of(get_db(), [c.id for c in turn.comments])
    return jsonify(comments=[_view(c, replies.get(c.id, ())) for c in turn.comments])


@bp.post("/turns/<int:turn_id>/comments")
def add_comment(turn_id: int):
    require_coach()
    turn = get_turn_or_404(turn_id)
    fields = _fields(_body(), turn, partial=False)
    comment = Comment(turn_id=turn.id, author_id=g.user.id, **fields)
    db = get_db()
    db.add(comment)
    db.commit()
    return jsonify(comment=_view(comment)), 201


def _comment_or_404(comment_id: int) -> Comment:
    comment = get_db().get(Comment, comment_id) if valid_id(comment_id) else None
    if comment is None:
        abort(404, description=f"No comment {comment_id}.")
    get_turn_or_404(comment.turn_id)
    return comment


@bp.patch("/comments/<int:comment_id>")
def edit_comment(comment_id: int):
    require_coach()
    comment = _comment_or_404(comment_id)
    body = _body()
    fields = _fields(body, comment.turn, partial=True)
    if "start_s" in fields and "end_s" not in body and comment.end_s is not None and comment.end_s < fields["start_s"]:
        fields["end_s"] = None
    for key, value in fields.items():
        setattr(comment, key, value)
    if comment.end_s is not None and comment.end_s < comment.start_s:
        abort(400, description="'end_s' must not be before 'start_s'.")
    db = get_db()
    db.commit()
    return jsonify(comment=_view(comment))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int):
    require_coach()
    comment = _comment_or_404(comment_id)
    db = get_db()
    db.delete(comment)
    db.commit()
    return jsonify(deleted=comment_id)
