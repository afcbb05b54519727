"""Session summaries: the figures the lists show, kept on the session row (see store.SUMMARY_COLUMNS), and the
index the lists sort by. All nullable: the store fills them for older rows when it opens
(``_backfill_session_summaries``). Databases that got these columns from the light upgrade before migrations
keep them as they are.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa

from voicerehearse.migrations import add_missing_columns, create_missing_indexes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns(
        "sessions",
        *(sa.Column(name, sa.Integer, nullable=True) for name in
          ("turn_count", "aggressive_count", "passive_count", "assertive_count")),
        sa.Column("verdict", sa.String(20), nullable=True),
        *(sa.Column(name, sa.Float, nullable=True) for name in
          ("duration_s", "mean_wpm", "mean_loudness_delta_db", "mean_pitch_delta_st", "mean_latency_s")),
        *(sa.Column(name, sa.Integer, nullable=True) for name in
          ("interruption_count", "comment_count", "summary_version")),
    )
    create_missing_indexes("sessions", ("ix_sessions_trainee_started", ["trainee_id", "started_at"]))


def downgrade() -> None:
    raise NotImplementedError("the store does not go back to an earlier schema; restore a backup instead")
