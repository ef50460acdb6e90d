"""The central server's tables. Money in integer kopecks, quantities in integer thousandths.

Created and upgraded by the Alembic migrations in ``icecash.server.migrations``; these
definitions are what the code queries and must match the latest migration (a test compares
them). Every firm-owned row carries ``firm_id`` so that every query can be scoped to one firm.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

# A 64-bit key on PostgreSQL, SQLite's rowid alias there (an INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")

firms = Table(
    "firms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("regid", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("variables_version", BigInteger, nullable=False, default=0),
    Column("promotions_version", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    # set by the accounting's user-close (migration 0010): the firm's tills are refused by the exchange
    Column("suspended_at", DateTime, nullable=True),
    Column("suspended_reason", String(512), nullable=False, default="", server_default=""),
)

# Tokens of the server's own services (migration 0010): "billing", the accounting's suspend/resume calls.
service_tokens = Table(
    "service_tokens",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # operator · admin · viewer
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=True),  # None: the operator
    Column("name", String(128), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

shops = Table(
    "shops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("idplace", Integer, nullable=False),
    Column("name", String(256), nullable=False, default=""),
    UniqueConstraint("firm_id", "idplace", name="uq_shops_firm_idplace"),
)

price_lists = Table(
    "price_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("version", BigInteger, nullable=False, default=0),  # bumped by every change; rows carry theirs
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("firm_id", "name", name="uq_price_lists_firm_name"),
)

tills = Table(
    "tills",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("nkassa", Integer, nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("secret_hash", String(256), nullable=False),
    Column("price_list_id", Integer, ForeignKey("price_lists.id", ondelete="SET NULL"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_contact", DateTime, nullable=True),
    Column("version", String(32), nullable=False, default=""),
    Column("printer", String(128), nullable=False, default=""),
    Column("backlog", Integer, nullable=False, default=0),
    Column("clock_skew_s", Integer, nullable=False, default=0),  # till clock − server clock at last heartbeat
    Column("price_version", BigInteger, nullable=False, default=0),
    UniqueConstraint("shop_id", "nkassa", name="uq_tills_shop_nkassa"),
)

till_tokens = Table(
    "till_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("till_id", Integer, ForeignKey("tills.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("expires_at", DateTime, nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("till_id", Integer, ForeignKey("tills.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # sale · return
    Column("status", String(12), nullable=False),  # paid · cancelled
    Column("number", Integer, nullable=False),
    Column("shift_uuid", String(36), nullable=False, default=""),
    Column("return_of", String(36), nullable=True),
    Column("created_at", DateTime, nullable=False),  # the till's clock
    Column("closed_at", DateTime, nullable=False),  # the till's clock
    Column("business_date", Date, nullable=False),  # the trading day (begin_time rule): what reports group by
    Column("received_at", DateTime, nullable=False),  # the server's clock
    Column("cashier", String(64), nullable=False, default=""),
    Column("seller", String(64), nullable=False, default=""),
    Column("card_number", String(64), nullable=True),
    Column("card_rate_bp", Integer, nullable=False, default=0),
    Column("amount", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("cash", BigInteger, nullable=False),
    Column("card", BigInteger, nullable=False),
    Column("cash_given", BigInteger, nullable=False, default=0),
    Column("change", BigInteger, nullable=False, default=0),
    Column("comment", String(256), nullable=False, default=""),
    Index("ix_receipts_firm_date", "firm_id", "business_date"),
    Index("ix_receipts_shop_date", "shop_id", "business_date"),
    Index("ix_receipts_till_date", "till_id", "business_date"),
    Index("ix_receipts_firm_id", "firm_id", "id"),
)

receipt_lines = Table(
    "receipt_lines",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("receipt_id", BigInteger, ForeignKey("receipts.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("barcode", String(64), nullable=False, default=""),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("storno", Boolean, nullable=False, default=False),
    Column("amount", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("final_price", BigInteger, nullable=False),
    Column("vat", String(8), nullable=False),
    Column("vat_amount", BigInteger, nullable=False),
    Column("marks", String(16), nullable=False, default=""),
    UniqueConstraint("receipt_id", "line_no", name="uq_server_receipt_lines_no"),
    Index("ix_receipt_lines_code", "code"),
)

z_reports = Table(
    "z_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("till_id", Integer, ForeignKey("tills.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=False),
    Column("accounting_date", Date, nullable=False),
    Column("sales_count", Integer, nullable=False),
    Column("returns_count", Integer, nullable=False),
    Column("cancels_count", Integer, nullable=False),
    Column("sales_total", BigInteger, nullable=False),
    Column("returns_total", BigInteger, nullable=False),
    Column("cancels_total", BigInteger, nullable=False),
    Column("cash", BigInteger, nullable=False),
    Column("card", BigInteger, nullable=False),
    Column("sales_discount", BigInteger, nullable=False),
    Column("returns_discount", BigInteger, nullable=False),
    Column("cash_in", BigInteger, nullable=False),
    Column("cash_out", BigInteger, nullable=False),
    Column("revenue", BigInteger, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("exported_at", DateTime, nullable=True),  # None: not yet taken by the back office
    Index("ix_z_reports_firm_date", "firm_id", "accounting_date"),
    Index("ix_z_reports_firm_exported", "firm_id", "exported_at"),
)

z_lines = Table(
    "z_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("z_id", Integer, ForeignKey("z_reports.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("sold_quantity", BigInteger, nullable=False),
    Column("sold_total", BigInteger, nullable=False),
    Column("returned_quantity", BigInteger, nullable=False),
    Column("returned_total", BigInteger, nullable=False),
)

price_items = Table(
    "price_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("price_list_id", Integer, ForeignKey("price_lists.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("parent_code", String(32), nullable=True),
    Column("is_item", Boolean, nullable=False),
    Column("name", String(256), nullable=False),
    Column("barcode", String(64), nullable=False, default=""),
    Column("price", BigInteger, nullable=False, default=0),
    Column("min_price", BigInteger, nullable=False, default=0),
    Column("max_price", BigInteger, nullable=False, default=0),
    Column("max_discount_bp", Integer, nullable=False, default=0),
    Column("weighed", Boolean, nullable=False, default=False),
    Column("department", Integer, nullable=False, default=0),
    Column("vat", String(8), nullable=True),
    Column("alcohol", Boolean, nullable=False, default=False),
    Column("litres_ml", Integer, nullable=False, default=0),
    Column("stock", BigInteger, nullable=False, default=0),
    Column("item_type", Integer, nullable=False, default=0),
    Column("scheme", Integer, nullable=False, default=0),
    Column("no_discount", Boolean, nullable=True),  # None (as vat): no file said; the tills keep their own
    Column("extras", Text, nullable=False, default="[]"),  # JSON: [[barcode, name, price, coefficient], ...]
    Column("deleted", Boolean, nullable=False, default=False),  # a tombstone, so deltas can say "gone"
    Column("version", BigInteger, nullable=False),
    UniqueConstraint("price_list_id", "code", name="uq_price_items_list_code"),
    Index("ix_price_items_list_version", "price_list_id", "version"),
)

variables = Table(
    "variables",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("firm_id", "name", name="uq_variables_firm_name"),
)

goods_lists = Table(
    "goods_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("codes", Text, nullable=False, default="[]"),  # JSON list of item codes
    UniqueConstraint("firm_id", "name", name="uq_goods_lists_firm_name"),
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("date_from", Date, nullable=True),
    Column("date_to", Date, nullable=True),
    Column("time_from", String(8), nullable=False, default="00:00:00"),
    Column("time_to", String(8), nullable=False, default="23:59:59"),
    Column("weekdays", String(7), nullable=False, default="1111111"),  # Monday first
    Column("active", Boolean, nullable=False, default=True),
    Column("places", Text, nullable=False, default=""),  # idplaces separated by commas; empty: every shop
    Column("if_text", Text, nullable=False, default=""),
    Column("then_text", Text, nullable=False, default=""),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_promotions_firm", "firm_id"),
)

place_groups = Table(
    "place_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("idplaces", Text, nullable=False, default="[]"),  # JSON list of the shops' idplace
    UniqueConstraint("firm_id", "name", name="uq_place_groups_firm_name"),
)

till_groups = Table(
    "till_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("members", Text, nullable=False, default="[]"),  # JSON list of [idplace, nkassa]
    UniqueConstraint("firm_id", "name", name="uq_till_groups_firm_name"),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("firm_id", Integer, ForeignKey("firms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
    UniqueConstraint("firm_id", "name", name="uq_files_firm_name"),
)
