"""The store of the current app and one database session per request."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from voicerehearse.store import Store


def get_store() -> Store:
    return current_app.extensions["voicerehearse.store"]


def get_db() -> Session:
    if "db" not in g:
        g.db = Session(get_store().engine, expire_on_commit=False)  # same settings as Store.session()
    return g.db


def close_db(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
