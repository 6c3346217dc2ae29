"""Action, view and field ids for releases: one place, so builders and listeners agree."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    BUILD = "release_build"
    TEST = "release_test"
    SCHEDULE = "release_schedule"
    DEPLOY = "release_deploy"
    DEPLOYED = "release_deployed"
    FAILED = "release_failed"
    ROLL_BACK = "release_roll_back"
    CLOSE = "release_close"
    CANCEL = "release_cancel"


class View(StrEnum):
    NEW = "release_new"
    TEST = "release_test_view"
    DEPLOYED = "release_deployed_view"
    FAILED = "release_failed_view"


class Field(StrEnum):
    """Block and action ids of form inputs; they equal the service's FieldError names."""

    NAME = "name"
    VERSION = "version"
    CHANGES = "changes"
    START = "window_start"
    END = "window_end"
    PLAN = "release_plan"
    BACKOUT = "backout_plan"
    MANAGER = "release_manager"
    RESULT = "result"
    NOTE = "note"
