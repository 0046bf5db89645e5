"""Record what a correction stage computed when it started (eps, f_d, how f_d was estimated).

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


def upgrade() -> None:
    with op.batch_alter_table("stage") as batch:
        batch.add_column(sa.Column("correction", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage") as batch:
        batch.drop_column("correction")
