"""Background jobs: the queue web uploads and imports go through (see voicerehearse/jobs.py). A new table only.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa

from voicerehearse.migrations import create_missing_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_tz = sa.DateTime(timezone=True)
metadata = sa.MetaData()
sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(120), nullable=True),
    sa.Column("lease_until", _tz, nullable=True),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("created_at", _tz, nullable=False),
    sa.Column("updated_at", _tz, nullable=False),
    sa.Index("ix_jobs_status", "status"),
)


def upgrade() -> None:
    create_missing_tables(metadata)


def downgrade() -> None:
    raise NotImplementedError("VoiceRehearse migrations only go forward")
