"""The App Home tab."""

from handlers.home.listeners import HomeHandlers

__all__ = ["HomeHandlers"]
