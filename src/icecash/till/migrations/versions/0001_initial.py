"""The till's first schema: settings, users, sessions, catalogue, receipts, shifts, Z reports.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('is_item', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('search_name', sa.String(length=256), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('min_price', sa.BigInteger(), nullable=False),
    sa.Column('max_price', sa.BigInteger(), nullable=False),
    sa.Column('max_discount_bp', sa.Integer(), nullable=False),
    sa.Column('weighed', sa.Boolean(), nullable=False),
    sa.Column('department', sa.Integer(), nullable=False),
    sa.Column('vat', sa.String(length=8), nullable=False),
    sa.Column('alcohol', sa.Boolean(), nullable=False),
    sa.Column('litres_ml', sa.Integer(), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=False),
    sa.Column('item_type', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.Integer(), nullable=False),
    sa.Column('no_discount', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index('ix_catalogue_barcode', 'catalogue', ['barcode'], unique=False)
    op.create_index(op.f('ix_catalogue_parent_code'), 'catalogue', ['parent_code'], unique=False)
    op.create_index('ix_catalogue_search_name', 'catalogue', ['search_name'], unique=False)
    op.create_table('discount_cards',
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('text', sa.String(length=256), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('extra_barcodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=32), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('coefficient', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_extra_barcodes_barcode'), 'extra_barcodes', ['barcode'], unique=False)
    op.create_index(op.f('ix_extra_barcodes_item_code'), 'extra_barcodes', ['item_code'], unique=False)
    op.create_table('settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('group', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('theme', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('login')
    )
    op.create_table('cash_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('idempotency_keys',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'key')
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('cashier_id', sa.Integer(), nullable=True),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('return_of_id', sa.Integer(), nullable=True),
    sa.Column('idplace', sa.Integer(), nullable=False),
    sa.Column('nkassa', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('card_number', sa.String(length=64), nullable=True),
    sa.Column('card_rate_bp', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('cash', sa.BigInteger(), nullable=False),
    sa.Column('card', sa.BigInteger(), nullable=False),
    sa.Column('cash_given', sa.BigInteger(), nullable=False),
    sa.Column('change', sa.BigInteger(), nullable=False),
    sa.Column('selected_line', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=256), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('upload_state', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['cashier_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['return_of_id'], ['receipts.id'], ),
    sa.ForeignKeyConstraint(['seller_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index('ix_receipts_closed_at', 'receipts', ['closed_at'], unique=False)
    op.create_index('ix_receipts_owner_status', 'receipts', ['owner_id', 'status'], unique=False)
    op.create_index('ix_receipts_shift', 'receipts', ['shift_id'], unique=False)
    op.create_index('ix_receipts_status', 'receipts', ['status'], unique=False)
    op.create_index('ix_receipts_upload', 'receipts', ['upload_state'], unique=False)
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('z_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('idplace', sa.Integer(), nullable=False),
    sa.Column('nkassa', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('accounting_date', sa.Date(), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('returns_count', sa.Integer(), nullable=False),
    sa.Column('cancels_count', sa.Integer(), nullable=False),
    sa.Column('sales_total', sa.BigInteger(), nullable=False),
    sa.Column('returns_total', sa.BigInteger(), nullable=False),
    sa.Column('cancels_total', sa.BigInteger(), nullable=False),
    sa.Column('cash', sa.BigInteger(), nullable=False),
    sa.Column('card', sa.BigInteger(), nullable=False),
    sa.Column('sales_discount', sa.BigInteger(), nullable=False),
    sa.Column('returns_discount', sa.BigInteger(), nullable=False),
    sa.Column('cash_in', sa.BigInteger(), nullable=False),
    sa.Column('cash_out', sa.BigInteger(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('upload_state', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('shift_id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('receipt_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('storno', sa.Boolean(), nullable=False),
    sa.Column('manual_discount_bp', sa.Integer(), nullable=False),
    sa.Column('price_changed', sa.Boolean(), nullable=False),
    sa.Column('quantity_changed', sa.Boolean(), nullable=False),
    sa.Column('fixed_total', sa.BigInteger(), nullable=True),
    sa.Column('return_of_line_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount_bp', sa.Integer(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('final_price', sa.BigInteger(), nullable=False),
    sa.Column('vat', sa.String(length=8), nullable=False),
    sa.Column('vat_amount', sa.BigInteger(), nullable=False),
    sa.Column('marks', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['return_of_line_id'], ['receipt_lines.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_id', 'line_no', name='uq_receipt_lines_no')
    )
    op.create_index('ix_receipt_lines_return_of', 'receipt_lines', ['return_of_line_id'], unique=False)
    op.create_table('z_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('z_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('sold_quantity', sa.BigInteger(), nullable=False),
    sa.Column('sold_total', sa.BigInteger(), nullable=False),
    sa.Column('returned_quantity', sa.BigInteger(), nullable=False),
    sa.Column('returned_total', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['z_id'], ['z_reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_z_lines_z_id'), 'z_lines', ['z_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_z_lines_z_id'), table_name='z_lines')
    op.drop_table('z_lines')
    op.drop_index('ix_receipt_lines_return_of', table_name='receipt_lines')
    op.drop_table('receipt_lines')
    op.drop_table('z_reports')
    op.drop_table('sessions')
    op.drop_index('ix_receipts_upload', table_name='receipts')
    op.drop_index('ix_receipts_status', table_name='receipts')
    op.drop_index('ix_receipts_shift', table_name='receipts')
    op.drop_index('ix_receipts_owner_status', table_name='receipts')
    op.drop_index('ix_receipts_closed_at', table_name='receipts')
    op.drop_table('receipts')
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_table('cash_moves')
    op.drop_table('users')
    op.drop_table('shifts')
    op.drop_table('settings')
    op.drop_index(op.f('ix_extra_barcodes_item_code'), table_name='extra_barcodes')
    op.drop_index(op.f('ix_extra_barcodes_barcode'), table_name='extra_barcodes')
    op.drop_table('extra_barcodes')
    op.drop_table('discount_cards')
    op.drop_index('ix_catalogue_search_name', table_name='catalogue')
    op.drop_index(op.f('ix_catalogue_parent_code'), table_name='catalogue')
    op.drop_index('ix_catalogue_barcode', table_name='catalogue')
    op.drop_table('catalogue')
