"""Release listeners."""

from handlers.releases.listeners import ReleaseHandlers

__all__ = ["ReleaseHandlers"]
