"""Action, view and field ids for complaints, compliments and satisfaction surveys (see
handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set
from services.surveys import COMMENT_ACTION, FOLLOW_UP_ACTION, SCORE_ACTION_PREFIX

# The survey's ids are the service's: it builds the message that carries them.
Action = id_set(
    "Action",
    "complaint_{}",
    "INVESTIGATE RESPOND REOPEN CLOSE",
    **{f"SCORE_{score}": f"{SCORE_ACTION_PREFIX}{score}" for score in range(1, 6)},
    COMMENT=COMMENT_ACTION,
    FOLLOW_UP=FOLLOW_UP_ACTION,
)

SCORE_ACTIONS = (Action.SCORE_1, Action.SCORE_2, Action.SCORE_3, Action.SCORE_4, Action.SCORE_5)

View = id_set(
    "View", "", NEW="feedback_new", RESPOND="complaint_respond_view", COMMENT="survey_comment_view"
)
Field = id_set("Field", "{}", "SERVICE SUMMARY DESCRIPTION RESPONSE COMMENT", KIND="feedback_kind")
