"""Price lists carry the items' "no discount" mark (``price_items.no_discount``).

Nullable, as ``vat``: null means no file pushed to the list said, and the tills keep their own
mark. Rows already stored become null, so no till loses a mark it has when the list next travels.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("price_items") as batch:
        batch.add_column(sa.Column("no_discount", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price_items") as batch:
        batch.drop_column("no_discount")
