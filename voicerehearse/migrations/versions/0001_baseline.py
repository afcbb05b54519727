"""The store's schema as it was when migrations began: trainees, baselines, sessions, turns, users, comments.

On an empty database this creates the tables. On a database made before migrations (``create_all`` and the light
"add new nullable columns" upgrade of earlier releases) it adds only the tables and columns missing, so every row
stays; Alembic then stamps it with this revision.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa

from voicerehearse.migrations import create_missing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_tz = sa.DateTime(timezone=True)
metadata = sa.MetaData()

sa.Table(
    "trainees", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("created_at", _tz, nullable=False),
)
sa.Table(
    "baselines", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trainee_id", sa.Integer, sa.ForeignKey("trainees.id"), nullable=False),
    sa.Column("audio_path", sa.String(500), nullable=False),
    sa.Column("measures", sa.JSON, nullable=False),
    sa.Column("created_at", _tz, nullable=False),
)
sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trainee_id", sa.Integer, sa.ForeignKey("trainees.id"), nullable=False),
    sa.Column("scenario_id", sa.String(120), nullable=False),
    sa.Column("scenario_title", sa.String(300), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", _tz, nullable=False),
    sa.Column("ended_at", _tz, nullable=True),
    sa.Column("baseline_id", sa.Integer, sa.ForeignKey("baselines.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)
sa.Table(
    "turns", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("index", sa.Integer, nullable=False),
    sa.Column("customer_text", sa.Text, nullable=True),
    sa.Column("audio_path", sa.String(500), nullable=False),
    sa.Column("prompt_start_s", sa.Float, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("analysis", sa.JSON, nullable=True),
    sa.Column("label", sa.String(20), nullable=True),
    sa.Column("words_per_minute", sa.Float, nullable=True),
    sa.Column("loudness_delta_db", sa.Float, nullable=True),
    sa.Column("pitch_delta_st", sa.Float, nullable=True),
    sa.Column("response_latency_s", sa.Float, nullable=True),
    sa.Column("interrupted", sa.Boolean, nullable=True),
    sa.Column("created_at", _tz, nullable=False),
)
sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(120), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("trainee_id", sa.Integer, sa.ForeignKey("trainees.id"), nullable=True),
    sa.Column("created_at", _tz, nullable=False),
    sa.Column("session_version", sa.Integer, nullable=False, server_default=sa.text("0")),
)
sa.Table(
    "comments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id"), nullable=False),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", _tz, nullable=False),
    sa.Column("updated_at", _tz, nullable=False),
)


def upgrade() -> None:
    create_missing_tables(metadata)


def downgrade() -> None:
    raise NotImplementedError("the first revision has nothing before it; restore a backup instead")
