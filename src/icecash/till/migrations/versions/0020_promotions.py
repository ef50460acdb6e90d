"""What a receipt keeps of its promotions: the reasons per line and per receipt, and which lines a promotion added.

Revision ID: 0020
Revises: 0010
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_line_promotions",
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("receipt_lines.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
    )
    op.create_table(
        "receipt_promotions",
        sa.Column("receipt_id", sa.Integer(), sa.ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("reasons", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipt_promotions")
    op.drop_table("receipt_line_promotions")
