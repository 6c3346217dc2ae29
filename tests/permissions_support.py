"""Actors for tests that set up records through the services, which check who acts."""

from __future__ import annotations

from services.permissions import Actor, Role


def editor(user_id: str) -> Actor:
    """An agent: may change configuration items (and do every agent's step)."""
    return Actor(user_id, frozenset({Role.AGENT}))
