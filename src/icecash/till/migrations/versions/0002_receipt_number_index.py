"""Index receipts by number: the next number and searches by number stay fast at 100,000s of receipts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_receipts_number", "receipts", ["number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_receipts_number", table_name="receipts")
