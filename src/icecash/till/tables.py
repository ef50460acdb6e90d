"""The till's tables. Money columns are integer kopecks, quantities integer thousandths.

The schema is created and upgraded by the Alembic migrations in ``icecash.till.migrations``;
these definitions are what the code queries and must match the latest migration (a test
compares them).
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
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("group", String(32), nullable=False),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", Integer, nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("code", String(64), nullable=True, unique=True),
    Column("theme", String(16), nullable=False, default="light"),
    Column("language", String(8), nullable=False, default="ru"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # browser · api
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

catalogue = Table(
    "catalogue",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("parent_code", String(32), nullable=True, index=True),
    Column("is_item", Boolean, nullable=False),
    Column("name", String(256), nullable=False),
    Column("search_name", String(256), nullable=False),  # casefolded name: SQLite's lower() is ASCII-only
    Column("barcode", String(64), nullable=False, default=""),
    Column("price", BigInteger, nullable=False, default=0),
    Column("min_price", BigInteger, nullable=False, default=0),
    Column("max_price", BigInteger, nullable=False, default=0),
    Column("max_discount_bp", Integer, nullable=False, default=0),
    Column("weighed", Boolean, nullable=False, default=False),
    Column("department", Integer, nullable=False, default=1),
    Column("vat", String(8), nullable=False, default="none"),
    Column("alcohol", Boolean, nullable=False, default=False),
    Column("litres_ml", Integer, nullable=False, default=0),
    Column("stock", BigInteger, nullable=False, default=0),
    Column("item_type", Integer, nullable=False, default=0),
    Column("scheme", Integer, nullable=False, default=0),
    Column("no_discount", Boolean, nullable=False, default=False),
    Index("ix_catalogue_barcode", "barcode"),
    Index("ix_catalogue_search_name", "search_name"),
)

extra_barcodes = Table(
    "extra_barcodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_code", String(32), nullable=False, index=True),
    Column("barcode", String(64), nullable=False, index=True),
    Column("name", String(256), nullable=False, default=""),
    Column("price", BigInteger, nullable=False, default=0),
    Column("coefficient", Integer, nullable=False, default=1000),  # thousandths of the base price, used when price is 0
)

discount_cards = Table(
    "discount_cards",
    metadata,
    Column("number", String(64), primary_key=True),
    Column("name", String(128), nullable=False, default=""),
    Column("text", String(256), nullable=False, default=""),
    Column("rate_bp", Integer, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
)

shifts = Table(
    "shifts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # sale · return
    Column("status", String(12), nullable=False),  # open · deferred · paid · cancelled
    Column("number", Integer, nullable=True),  # given when the receipt is paid or cancelled
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),  # whose current receipt it is
    Column("seller_id", Integer, ForeignKey("users.id"), nullable=False),  # who built it
    Column("cashier_id", Integer, ForeignKey("users.id"), nullable=True),  # who took the money
    Column("shift_id", Integer, ForeignKey("shifts.id"), nullable=True),
    Column("return_of_id", Integer, ForeignKey("receipts.id"), nullable=True),
    Column("idplace", Integer, nullable=False),
    Column("nkassa", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("card_number", String(64), nullable=True),
    Column("card_rate_bp", Integer, nullable=False, default=0),
    Column("amount", BigInteger, nullable=False, default=0),
    Column("discount", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=False, default=0),
    Column("cash", BigInteger, nullable=False, default=0),
    Column("card", BigInteger, nullable=False, default=0),
    Column("cash_given", BigInteger, nullable=False, default=0),
    Column("change", BigInteger, nullable=False, default=0),
    Column("selected_line", Integer, nullable=True),
    Column("comment", String(256), nullable=False, default=""),
    Column("version", Integer, nullable=False, default=0),
    Column("upload_state", String(8), nullable=False, default="local"),  # local · pending · sent
    Index("ix_receipts_owner_status", "owner_id", "status"),
    Index("ix_receipts_status", "status"),
    Index("ix_receipts_number", "number"),
    Index("ix_receipts_shift", "shift_id"),
    Index("ix_receipts_closed_at", "closed_at"),
    Index("ix_receipts_upload", "upload_state"),
)

receipt_lines = Table(
    "receipt_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_id", Integer, ForeignKey("receipts.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("snapshot", Text, nullable=False),  # JSON of the catalogue row at the time of sale
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("storno", Boolean, nullable=False, default=False),
    Column("manual_discount_bp", Integer, nullable=False, default=0),
    Column("price_changed", Boolean, nullable=False, default=False),
    Column("quantity_changed", Boolean, nullable=False, default=False),
    Column("fixed_total", BigInteger, nullable=True),
    Column("fixed_discount", BigInteger, nullable=False, default=0, server_default="0"),
    Column("return_of_line_id", Integer, ForeignKey("receipt_lines.id"), nullable=True),
    Column("amount", BigInteger, nullable=False, default=0),
    Column("discount_bp", Integer, nullable=False, default=0),
    Column("discount", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=False, default=0),
    Column("final_price", BigInteger, nullable=False, default=0),
    Column("vat", String(8), nullable=False),
    Column("vat_amount", BigInteger, nullable=False, default=0),
    Column("marks", String(16), nullable=False, default=""),
    UniqueConstraint("receipt_id", "line_no", name="uq_receipt_lines_no"),
    Index("ix_receipt_lines_return_of", "return_of_line_id"),
)

cash_moves = Table(
    "cash_moves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("shift_id", Integer, ForeignKey("shifts.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + cash in, − cash out
    Column("comment", String(256), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

z_reports = Table(
    "z_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("shift_id", Integer, ForeignKey("shifts.id"), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("idplace", Integer, nullable=False),
    Column("nkassa", Integer, nullable=False),
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
    Column("upload_state", String(8), nullable=False, default="pending"),
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

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime, nullable=False, index=True),
)
