"""Stored networks (versioned), the network a plan used, plan artifacts and solve progress.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("document_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "name", "version", name="uq_networks_tenant_name_version"),
    )
    op.create_table(
        "plan_networks",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("network", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_plan_networks_tenant_network", "plan_networks", ["tenant", "network"])
    op.create_table(
        "plan_artifacts",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "job_progress",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("phase", sa.String(200), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("best_objective", sa.Float(), nullable=True),
        sa.Column("bound", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_progress")
    op.drop_table("plan_artifacts")
    op.drop_index("ix_plan_networks_tenant_network", table_name="plan_networks")
    op.drop_table("plan_networks")
    op.drop_table("networks")
