"""Coach review: each session's review status (new, reviewed, shared, acknowledged, disputed with a reason), the
coaches' answers to a scorecard's manual criteria, and replies to comments. New tables only: nothing stored
changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_tz = sa.DateTime(timezone=True)
metadata = sa.MetaData()

sa.Table("sessions", metadata, sa.Column("id", sa.Integer, primary_key=True))  # referenced, never created here
sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
sa.Table("comments", metadata, sa.Column("id", sa.Integer, primary_key=True))
_NEW = (
    sa.Table(
        "session_reviews", metadata,
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_at", _tz, nullable=False),
    ),
    sa.Table(
        "scorecard_answers", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("coach_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("rubric", sa.String(120), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("score_pct", sa.Float, nullable=True),
        sa.Column("updated_at", _tz, nullable=False),
        sa.Index("ux_scorecard_answers_session_coach", "session_id", "coach_id", unique=True),
    ),
    sa.Table(
        "comment_replies", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("comment_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", _tz, nullable=False),
        sa.Index("ix_comment_replies_comment", "comment_id"),
    ),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _NEW:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("the store does not go back to an earlier schema; restore a backup instead")
