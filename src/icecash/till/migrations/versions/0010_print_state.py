"""The till's record of each receipt's print through the print service (icecash.till.printing).

A receipt whose print is unfinished stays unpaid and read-only; the row keeps what reconciling
with the registrar needs (its last document number before the attempt, the payment).

Revision ID: 0010
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_state",
        sa.Column("receipt_id", sa.Integer(), sa.ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("printer", sa.String(64), nullable=False),
        sa.Column("fiscal", sa.Boolean(), nullable=False),
        sa.Column("doc_before", sa.Integer(), nullable=True),
        sa.Column("doc_number", sa.Integer(), nullable=True),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("card", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_ru", sa.Text(), nullable=True),
        sa.Column("error_en", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("print_state")
