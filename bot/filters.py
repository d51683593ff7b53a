"""Filters the feature routers share."""

from __future__ import annotations

from broadcasts.models import Official


def official_only(_: object, official: Official | None = None) -> bool:
    """Only registered ward officials (the middleware puts `official` in the data)."""
    return official is not None
