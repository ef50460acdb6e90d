"""Alembic, driven from code: each service keeps its own migrations package."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect


def alembic_config(package: str, engine: Engine) -> Config:
    """An Alembic config for the migrations in ``package`` (e.g. ``icecash.till.migrations``)."""
    config = Config()
    config.set_main_option("script_location", str(files(package)))
    # ConfigParser interpolates "%": a URL with %-escapes (a password, a search_path option) must double them
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(package: str, engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the database to ``revision``; a no-op when it is already there."""
    command.upgrade(alembic_config(package, engine), revision)


def current_revision(engine: Engine) -> str | None:
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
