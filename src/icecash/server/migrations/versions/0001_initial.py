"""The central server's first schema: tenancy, exchange, catalogue, promotions, back office.

Revision ID: 0001
Revises: -
Create Date: 2026-11-21 10:38:29.664433
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('regid', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('variables_version', sa.BigInteger(), nullable=False),
    sa.Column('promotions_version', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('regid')
    )
    op.create_table('files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'name', name='uq_files_firm_name')
    )
    op.create_table('goods_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('codes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'name', name='uq_goods_lists_firm_name')
    )
    op.create_table('price_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'name', name='uq_price_lists_firm_name')
    )
    op.create_table('promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('time_from', sa.String(length=8), nullable=False),
    sa.Column('time_to', sa.String(length=8), nullable=False),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('places', sa.Text(), nullable=False),
    sa.Column('if_text', sa.Text(), nullable=False),
    sa.Column('then_text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.create_index('ix_promotions_firm', ['firm_id'], unique=False)

    op.create_table('shops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('idplace', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'idplace', name='uq_shops_firm_idplace')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('login')
    )
    op.create_table('variables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'name', name='uq_variables_firm_name')
    )
    op.create_table('price_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('is_item', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('min_price', sa.BigInteger(), nullable=False),
    sa.Column('max_price', sa.BigInteger(), nullable=False),
    sa.Column('max_discount_bp', sa.Integer(), nullable=False),
    sa.Column('weighed', sa.Boolean(), nullable=False),
    sa.Column('department', sa.Integer(), nullable=False),
    sa.Column('vat', sa.String(length=8), nullable=True),
    sa.Column('alcohol', sa.Boolean(), nullable=False),
    sa.Column('litres_ml', sa.Integer(), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=False),
    sa.Column('item_type', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.Integer(), nullable=False),
    sa.Column('extras', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_lists.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('price_list_id', 'code', name='uq_price_items_list_code')
    )
    with op.batch_alter_table('price_items', schema=None) as batch_op:
        batch_op.create_index('ix_price_items_list_version', ['price_list_id', 'version'], unique=False)

    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('tills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('nkassa', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('secret_hash', sa.String(length=256), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_contact', sa.DateTime(), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('printer', sa.String(length=128), nullable=False),
    sa.Column('backlog', sa.Integer(), nullable=False),
    sa.Column('clock_skew_s', sa.Integer(), nullable=False),
    sa.Column('price_version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_lists.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shop_id', 'nkassa', name='uq_tills_shop_nkassa')
    )
    op.create_table('receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('till_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('shift_uuid', sa.String(length=36), nullable=False),
    sa.Column('return_of', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('cashier', sa.String(length=64), nullable=False),
    sa.Column('seller', sa.String(length=64), nullable=False),
    sa.Column('card_number', sa.String(length=64), nullable=True),
    sa.Column('card_rate_bp', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('cash', sa.BigInteger(), nullable=False),
    sa.Column('card', sa.BigInteger(), nullable=False),
    sa.Column('cash_given', sa.BigInteger(), nullable=False),
    sa.Column('change', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ),
    sa.ForeignKeyConstraint(['till_id'], ['tills.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index('ix_receipts_firm_date', ['firm_id', 'business_date'], unique=False)
        batch_op.create_index('ix_receipts_firm_id', ['firm_id', 'id'], unique=False)
        batch_op.create_index('ix_receipts_shop_date', ['shop_id', 'business_date'], unique=False)
        batch_op.create_index('ix_receipts_till_date', ['till_id', 'business_date'], unique=False)

    op.create_table('till_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('till_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['till_id'], ['tills.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('till_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_till_tokens_till_id'), ['till_id'], unique=False)

    op.create_table('z_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('till_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
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
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('exported_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ),
    sa.ForeignKeyConstraint(['till_id'], ['tills.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('z_reports', schema=None) as batch_op:
        batch_op.create_index('ix_z_reports_firm_date', ['firm_id', 'accounting_date'], unique=False)
        batch_op.create_index('ix_z_reports_firm_exported', ['firm_id', 'exported_at'], unique=False)

    op.create_table('receipt_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('storno', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('final_price', sa.BigInteger(), nullable=False),
    sa.Column('vat', sa.String(length=8), nullable=False),
    sa.Column('vat_amount', sa.BigInteger(), nullable=False),
    sa.Column('marks', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_id', 'line_no', name='uq_server_receipt_lines_no')
    )
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_lines_code', ['code'], unique=False)

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
    with op.batch_alter_table('z_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_z_lines_z_id'), ['z_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('z_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_z_lines_z_id'))

    op.drop_table('z_lines')
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_receipt_lines_code')

    op.drop_table('receipt_lines')
    with op.batch_alter_table('z_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_z_reports_firm_exported')
        batch_op.drop_index('ix_z_reports_firm_date')

    op.drop_table('z_reports')
    with op.batch_alter_table('till_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_till_tokens_till_id'))

    op.drop_table('till_tokens')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_receipts_till_date')
        batch_op.drop_index('ix_receipts_shop_date')
        batch_op.drop_index('ix_receipts_firm_id')
        batch_op.drop_index('ix_receipts_firm_date')

    op.drop_table('receipts')
    op.drop_table('tills')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_user_id'))

    op.drop_table('sessions')
    with op.batch_alter_table('price_items', schema=None) as batch_op:
        batch_op.drop_index('ix_price_items_list_version')

    op.drop_table('price_items')
    op.drop_table('variables')
    op.drop_table('users')
    op.drop_table('shops')
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.drop_index('ix_promotions_firm')

    op.drop_table('promotions')
    op.drop_table('price_lists')
    op.drop_table('goods_lists')
    op.drop_table('files')
    op.drop_table('firms')
