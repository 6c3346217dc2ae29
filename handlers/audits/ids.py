"""Action, view and field ids for internal audits (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set("Action", "audit_{}", "START FINDING COMPLETE CANCEL")
View = id_set("View", "audit_{}_view", "COMPLETE")
Field = id_set("Field", "{}", "NOTE")
