"""Post-incident review listeners (`/pir`)."""

from handlers.reviews.listeners import ReviewHandlers

__all__ = ["ReviewHandlers"]
