"""Alembic environment for the central server's database; the engine comes from icecash.store.migrate."""

from alembic import context

from icecash.server.tables import metadata
from icecash.store.db import writing

config = context.config
engine = config.attributes["engine"]

with writing(engine) as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      transaction_per_migration=False)
    context.run_migrations()
