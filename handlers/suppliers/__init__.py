"""Suppliers in Slack: `/supplier`."""

from handlers.suppliers.listeners import SupplierHandlers

__all__ = ["SupplierHandlers"]
