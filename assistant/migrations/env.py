"""Alembic's entry point: migrations run on the connection assistant/database.py hands over (no alembic.ini)."""

from alembic import context

connection = context.config.attributes["connection"]
# Each branch may live in its own SQLite file, or both in one database: one version table holds both heads.
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
