"""Action, view and field ids for /servicedesk and the availability test buttons."""

from __future__ import annotations

from enum import StrEnum

from services.service_tests import FAILED_ACTION_ID, PASSED_ACTION_ID


class Action(StrEnum):
    # The sweep builds the reminder buttons; these are the same ids.
    TEST_PASSED = PASSED_ACTION_ID
    TEST_FAILED = FAILED_ACTION_ID


class View(StrEnum):
    TEST_FAILED = "service_test_failed_view"


class Field(StrEnum):
    NOTE = "note"
