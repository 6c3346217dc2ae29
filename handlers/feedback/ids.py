"""Action, view and field ids for complaints, compliments and satisfaction surveys."""

from __future__ import annotations

from enum import StrEnum

from services.surveys import COMMENT_ACTION, FOLLOW_UP_ACTION, SCORE_ACTION_PREFIX


class Action(StrEnum):
    INVESTIGATE = "complaint_investigate"
    RESPOND = "complaint_respond"
    REOPEN = "complaint_reopen"
    CLOSE = "complaint_close"
    SCORE_1 = f"{SCORE_ACTION_PREFIX}1"
    SCORE_2 = f"{SCORE_ACTION_PREFIX}2"
    SCORE_3 = f"{SCORE_ACTION_PREFIX}3"
    SCORE_4 = f"{SCORE_ACTION_PREFIX}4"
    SCORE_5 = f"{SCORE_ACTION_PREFIX}5"
    COMMENT = COMMENT_ACTION
    FOLLOW_UP = FOLLOW_UP_ACTION


SCORE_ACTIONS = (Action.SCORE_1, Action.SCORE_2, Action.SCORE_3, Action.SCORE_4, Action.SCORE_5)


class View(StrEnum):
    NEW = "feedback_new"
    RESPOND = "complaint_respond_view"
    COMMENT = "survey_comment_view"


class Field(StrEnum):
    KIND = "feedback_kind"
    SERVICE = "service"
    SUMMARY = "summary"
    DESCRIPTION = "description"
    RESPONSE = "response"
    COMMENT = "comment"
