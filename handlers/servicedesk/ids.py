"""Action, view and field ids for /servicedesk and the availability test buttons (see
handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set
from services.service_tests import FAILED_ACTION_ID, PASSED_ACTION_ID

# The sweep builds the reminder buttons; these are the same ids.
Action = id_set("Action", "", TEST_PASSED=PASSED_ACTION_ID, TEST_FAILED=FAILED_ACTION_ID)
View = id_set("View", "service_{}_view", "TEST_FAILED")
Field = id_set("Field", "{}", "NOTE")
