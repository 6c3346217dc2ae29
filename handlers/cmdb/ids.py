"""Ids for the CMDB's Slack pieces."""

from __future__ import annotations

# The action id of every "service or item" external select. It is "service" so the New
# incident modal keeps its field id; one options listener answers them all.
ITEM_SELECT = "service"
