"""The accounting's hold on firms: a firm suspended by user-close (when, why), and the accounting's token.

Revision ID: 0010
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("firms") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("suspended_reason", sa.String(length=512), nullable=False, server_default=""))
    op.create_table(
        "service_tokens",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("service_tokens")
    with op.batch_alter_table("firms") as batch:
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
