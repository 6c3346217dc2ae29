"""Raising a change of type agreement from a service review (customers' and agreements')."""
