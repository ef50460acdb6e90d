"""The print service's tables: printers, the admin password, client tokens, admin sessions, the job journal.

The schema is created by the Alembic migrations in ``icecash.printd.migrations``; these
definitions must match the latest one (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

printers = Table(
    "printers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("type", String(8), nullable=False),  # shtrih · atol · escpos · none
    Column("url", String(512), nullable=False, default=""),  # transport URL: serial:/dev/…?baudrate=… · tcp://h:p · usb://v:p · file:/…
    Column("codepage", String(16), nullable=False, default="cp866"),  # ESC/POS text encoding
    Column("codepage_table", Integer, nullable=False, default=17),  # ESC t n of that encoding
    Column("width", Integer, nullable=False, default=48),  # characters per line
    Column("cashier_password", Integer, nullable=False, default=1),
    Column("admin_password", Integer, nullable=False, default=30),
    Column("timeout_ms", Integer, nullable=False, default=3000),
    Column("preview", String(512), nullable=False, default=""),  # an emulator's PNG of the paper roll (demo, tests)
    Column("comment", String(256), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("printer", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False),  # token name, or "admin"
    Column("created_at", DateTime, nullable=False, index=True),
    Column("finished_at", DateTime, nullable=True),
    Column("ok", Boolean, nullable=True),  # None: running (or the service died while it ran)
    Column("commands", Text, nullable=False),  # JSON
    Column("results", Text, nullable=False, default="[]"),  # JSON, one per command run
)
