"""Applying the SQL migrations in this folder with yoyo-migrations, and checking they are applied."""
from __future__ import annotations

from pathlib import Path

from yoyo import get_backend, read_migrations

# The folder holds only the SQL files: yoyo would take a .py file there for a migration too.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _yoyo_url(database_url: str) -> str:
    return "postgresql+psycopg://" + database_url.split("://", 1)[1]


def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration (under yoyo's lock); return the ids applied."""
    backend = get_backend(_yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def pending_migrations(database_url: str) -> list[str]:
    """Ids of migrations not yet applied (an empty list means the schema is current)."""
    backend = get_backend(_yoyo_url(database_url))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
    finally:
        backend.connection.close()
