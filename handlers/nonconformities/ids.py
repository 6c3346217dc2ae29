"""Action, view and field ids for nonconformities (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set("Action", "nc_{}", "PLAN ACTION_DONE CLOSE NOT_EFFECTIVE")
View = id_set("View", "nc_{}_view", "PLAN CLOSE NOT_EFFECTIVE", NEW="nc_new")
Field = id_set(
    "Field", "{}", "TITLE DESCRIPTION OWNER SOURCE CORRECTION CORRECTIVE_ACTION DUE_ON NOTE"
)
