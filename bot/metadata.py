"""Typed data carried in button values and modal private_metadata (defined in models/, so that
models can extend it too)."""

from models.carried import Carried, RecordRef

__all__ = ["Carried", "RecordRef"]
