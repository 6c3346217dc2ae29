"""Action, view and field ids for releases (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set(
    "Action", "release_{}", "BUILD TEST SCHEDULE DEPLOY DEPLOYED FAILED ROLL_BACK CLOSE CANCEL"
)
View = id_set("View", "release_{}_view", "TEST DEPLOYED FAILED", NEW="release_new")
# Block and action ids of form inputs; they equal the service's FieldError names.
Field = id_set(
    "Field",
    "{}",
    "NAME VERSION CHANGES RESULT NOTE",
    START="window_start",
    END="window_end",
    PLAN="release_plan",
    BACKOUT="backout_plan",
    MANAGER="release_manager",
)
