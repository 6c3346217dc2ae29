"""Action, view and field ids for post-incident reviews (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set("Action", "pir_{}", "RECORD ADD_ACTION CLOSE", DONE="pir_action_done")
View = id_set("View", "pir_{}_view", "RECORD", ADD_ACTION="pir_action_view")
Field = id_set(
    "Field",
    "{}",
    "WHAT_HAPPENED ROOT_CAUSE WENT_WELL PROBLEM RAISE_PROBLEM ACTION_TEXT ACTION_OWNER ACTION_DUE",
)
