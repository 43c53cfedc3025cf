"""Job warnings: what a submission held that planning ignores.

``POST /v1/plans`` and the forecast submissions answer 202 with ``warnings`` (keys the format
does not define, demand CSV columns other than sku, zone and units); the job keeps them so that
``GET /v1/plans/{id}`` and the console's plan page repeat them. Jobs of the previous version
have none (NULL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("warnings", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("warnings")
