"""The coach's own call of a turn's delivery (aggressive, passive or assertive), who made it and when: the labels
a team measures and refits its verdict against. New nullable columns only: nothing stored changes.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa

from voicerehearse.migrations import add_missing_columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns("turns", sa.Column("coach_label", sa.String(20), nullable=True),
                        sa.Column("coach_label_by", sa.String(120), nullable=True),
                        sa.Column("coach_label_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the store does not go back to an earlier schema; restore a backup instead")
