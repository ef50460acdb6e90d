"""Alembic environment for the billing tables; the engine comes from icecash.store.migrate.

The version is kept in ``billing_alembic_version`` so the billing tables can share the central
server's database with the server's own migrations.
"""

from alembic import context

from icecash.store.db import writing

config = context.config
engine = config.attributes["engine"]

with writing(engine) as connection:
    context.configure(connection=connection, render_as_batch=True, transaction_per_migration=False,
                      version_table="billing_alembic_version")
    context.run_migrations()
