"""The sync agent's tables: its state (versions, the till's secret), and what the server hands out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "server_variables",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "server_promotions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("time_from", sa.String(8), nullable=False),
        sa.Column("time_to", sa.String(8), nullable=False),
        sa.Column("weekdays", sa.String(7), nullable=False),
        sa.Column("places", sa.Text(), nullable=False),
        sa.Column("if_text", sa.Text(), nullable=False),
        sa.Column("then_text", sa.Text(), nullable=False),
    )
    op.create_table(
        "server_goods_lists",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(32), primary_key=True),
    )


def downgrade() -> None:
    for table in ("server_goods_lists", "server_promotions", "server_variables", "sync_state"):
        op.drop_table(table)
