"""Action, view and field ids for improvements (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set("Action", "improvement_{}", "APPROVE REJECT DONE")
View = id_set("View", "improvement_{}_view", "APPROVE REJECT DONE", NEW="improvement_new")
Field = id_set("Field", "{}", "TITLE DESCRIPTION PROCESS OWNER DUE_ON NOTE")
