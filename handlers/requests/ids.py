"""Action, view and field ids for service requests (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set("Action", "request_{}", "CHOOSE APPROVE REJECT START FULFIL CLOSE")
View = id_set("View", "request_{}_view", "REJECT FULFIL", FORM="request_form")
Field = id_set("Field", "{}", "REASON NOTE")
