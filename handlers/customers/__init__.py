"""Customers and their service reviews (and supplier reviews) in Slack: `/customer`."""

from handlers.customers.listeners import CustomerHandlers

__all__ = ["CustomerHandlers"]
