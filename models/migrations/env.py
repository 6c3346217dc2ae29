"""Alembic environment: runs on the connection handed in by bot.db, or on sqlalchemy.url."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Write our column types as plain SQLAlchemy ones, so migrations never import app code."""
    if type_ == "type":
        name = type(obj).__name__
        if name == "AutoString":
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
        if name == "UTCDateTime":
            return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from bot.db import make_engine

    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url) if url else create_engine("sqlite:///servicedesk.db")
    with engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("servicedesk migrations run online only: use `servicedesk db upgrade`")
run_migrations_online()
