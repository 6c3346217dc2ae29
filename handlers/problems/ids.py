"""Action, view and field ids for problems."""

from __future__ import annotations

from enum import StrEnum

from handlers.cmdb.ids import ITEM_SELECT


class Action(StrEnum):
    INVESTIGATE = "problem_investigate"
    KNOWN_ERROR = "problem_known_error"
    RESOLVE = "problem_resolve"
    CLOSE = "problem_close"
    LINK = "problem_link"
    RAISE_PROPOSAL = "problem_raise_proposal"


class View(StrEnum):
    NEW = "problem_new"
    KNOWN_ERROR = "problem_known_error_view"
    RESOLVE = "problem_resolve_view"
    LINK = "problem_link_view"


class Field(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    TARGET = ITEM_SELECT
    PRIORITY = "priority"
    ROOT_CAUSE = "root_cause"
    WORKAROUND = "workaround"
    CHANGE = "change"
    NOTE = "note"
    INCIDENT = "incident"
