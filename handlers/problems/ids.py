"""Action, view and field ids for problems (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.cmdb.ids import ITEM_SELECT
from handlers.id_sets import id_set

Action = id_set("Action", "problem_{}", "INVESTIGATE KNOWN_ERROR RESOLVE CLOSE LINK RAISE_PROPOSAL")
View = id_set("View", "problem_{}_view", "KNOWN_ERROR RESOLVE LINK", NEW="problem_new")
Field = id_set(
    "Field",
    "{}",
    "TITLE DESCRIPTION PRIORITY ROOT_CAUSE WORKAROUND CHANGE NOTE INCIDENT",
    TARGET=ITEM_SELECT,
)
