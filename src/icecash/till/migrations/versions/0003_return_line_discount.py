"""Return lines carry their share of the sold line's discount, so a full return nets the Z discount too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipt_lines") as batch:
        batch.add_column(sa.Column("fixed_discount", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("receipt_lines") as batch:
        batch.drop_column("fixed_discount")
