"""Every id a kind puts on a button, a form or an input keeps its value.

Slack sends these ids back from messages and forms posted long ago, so a refactoring that
changed one would leave old buttons answering nothing. The values below were read from the
enums before they were declared through `handlers.id_sets`; a change to any of them must be a
deliberate one, made here too.
"""

from __future__ import annotations

import importlib

import pytest

from handlers.id_sets import id_set

WIRE_IDS = {
    "audits.Action": "START=audit_start FINDING=audit_finding COMPLETE=audit_complete CANCEL=audit_cancel",
    "audits.View": "COMPLETE=audit_complete_view",
    "audits.Field": "NOTE=note",
    "changes.Action": "ASSESS=change_assess SUBMIT=change_submit SCHEDULE=change_schedule START=change_start COMPLETE=change_complete REVIEW=change_review CANCEL=change_cancel APPROVE=change_approve REJECT=change_reject ACCEPT=change_accept",
    "changes.View": "NEW=change_new REVIEW=change_review_view CANCEL=change_cancel_view REJECT=change_reject_view SERVICE=change_service_view ACCEPT=change_accept_view",
    "changes.Field": "TITLE=title DESCRIPTION=description TYPE=type TEMPLATE=standard_template RISK=risk RISK_ANSWERS=risk_answers TARGETS=targets START=planned_start END=planned_end IMPLEMENTATION=implementation_plan BACKOUT=backout_plan TEST=test_plan IMPLEMENTER=implementer SECURITY=security OUTCOME=outcome NOTE=note REASON=reason SERVICE_ACTION=service_action SERVICE=service SERVICE_NAME=service_name TEAM=team REQUIREMENTS=requirements DESIGN=design CRITERIA=criteria AGREEMENT=agreement CAPACITY=capacity BUDGET=budget",
    "feedback.Action": "INVESTIGATE=complaint_investigate RESPOND=complaint_respond REOPEN=complaint_reopen CLOSE=complaint_close SCORE_1=survey_score_1 SCORE_2=survey_score_2 SCORE_3=survey_score_3 SCORE_4=survey_score_4 SCORE_5=survey_score_5 COMMENT=survey_comment FOLLOW_UP=survey_follow_up",
    "feedback.View": "NEW=feedback_new RESPOND=complaint_respond_view COMMENT=survey_comment_view",
    "feedback.Field": "KIND=feedback_kind SERVICE=service SUMMARY=summary DESCRIPTION=description RESPONSE=response COMMENT=comment",
    "improvements.Action": "APPROVE=improvement_approve REJECT=improvement_reject DONE=improvement_done",
    "improvements.View": "NEW=improvement_new APPROVE=improvement_approve_view REJECT=improvement_reject_view DONE=improvement_done_view",
    "improvements.Field": "TITLE=title DESCRIPTION=description PROCESS=process OWNER=owner DUE_ON=due_on NOTE=note",
    "incidents.Action": "ACKNOWLEDGE=incident_acknowledge ASSIGN=incident_assign ESCALATE=incident_escalate HOLD=incident_hold RESUME=incident_resume RESOLVE=incident_resolve REOPEN=incident_reopen CLOSE=incident_close MORE=incident_more ESCALATION_ACK=incident_escalation_acknowledge COMMANDER=incident_major_commander COMMS_LEAD=incident_major_comms_lead POST_UPDATE=incident_major_post_update",
    "incidents.More": "PRIORITY=priority CANCEL=cancel PROBLEM=problem MAJOR=major",
    "incidents.View": "NEW=incident_new RESOLVE=incident_resolve_view HOLD=incident_hold_view ESCALATE=incident_escalate_view PRIORITY=incident_priority_view CANCEL=incident_cancel_view DECLARE=incident_declare_view UPDATE=incident_update_view",
    "incidents.Field": "TITLE=title DESCRIPTION=description IMPACT=impact URGENCY=urgency SERVICE=service CATEGORY=category CODE=resolution_code NOTE=note HOLD_REASON=hold_reason SUPPLIER=supplier TICKET=ticket_ref KIND=escalation_kind TEAM=team PRIORITY=priority REASON=reason UPDATE_STATUS=update_status UPDATE_IMPACT=update_impact UPDATE_NEXT=update_next SECURITY=security",
    "management_reviews.Action": "RECORD=mr_record CANCEL=mr_cancel ACTION_DONE=mr_action_done",
    "management_reviews.View": "RECORD=mr_record_view",
    "management_reviews.Field": "HELD_ON=held_on ATTENDEES=attendees DECISIONS=decisions",
    "nonconformities.Action": "PLAN=nc_plan ACTION_DONE=nc_action_done CLOSE=nc_close NOT_EFFECTIVE=nc_not_effective",
    "nonconformities.View": "NEW=nc_new PLAN=nc_plan_view CLOSE=nc_close_view NOT_EFFECTIVE=nc_not_effective_view",
    "nonconformities.Field": "TITLE=title DESCRIPTION=description OWNER=owner SOURCE=source CORRECTION=correction CORRECTIVE_ACTION=corrective_action DUE_ON=due_on NOTE=note",
    "problems.Action": "INVESTIGATE=problem_investigate KNOWN_ERROR=problem_known_error RESOLVE=problem_resolve CLOSE=problem_close LINK=problem_link RAISE_PROPOSAL=problem_raise_proposal",
    "problems.View": "NEW=problem_new KNOWN_ERROR=problem_known_error_view RESOLVE=problem_resolve_view LINK=problem_link_view",
    "problems.Field": "TITLE=title DESCRIPTION=description TARGET=service PRIORITY=priority ROOT_CAUSE=root_cause WORKAROUND=workaround CHANGE=change NOTE=note INCIDENT=incident",
    "releases.Action": "BUILD=release_build TEST=release_test SCHEDULE=release_schedule DEPLOY=release_deploy DEPLOYED=release_deployed FAILED=release_failed ROLL_BACK=release_roll_back CLOSE=release_close CANCEL=release_cancel",
    "releases.View": "NEW=release_new TEST=release_test_view DEPLOYED=release_deployed_view FAILED=release_failed_view",
    "releases.Field": "NAME=name VERSION=version CHANGES=changes START=window_start END=window_end PLAN=release_plan BACKOUT=backout_plan MANAGER=release_manager RESULT=result NOTE=note",
    "requests.Action": "CHOOSE=request_choose APPROVE=request_approve REJECT=request_reject START=request_start FULFIL=request_fulfil CLOSE=request_close",
    "requests.View": "FORM=request_form REJECT=request_reject_view FULFIL=request_fulfil_view",
    "requests.Field": "REASON=reason NOTE=note",
    "reviews.Action": "RECORD=pir_record ADD_ACTION=pir_add_action CLOSE=pir_close DONE=pir_action_done",
    "reviews.View": "RECORD=pir_record_view ADD_ACTION=pir_action_view",
    "reviews.Field": "WHAT_HAPPENED=what_happened ROOT_CAUSE=root_cause WENT_WELL=went_well PROBLEM=problem RAISE_PROBLEM=raise_problem ACTION_TEXT=action_text ACTION_OWNER=action_owner ACTION_DUE=action_due",
    "servicedesk.Action": "TEST_PASSED=service_test_passed TEST_FAILED=service_test_failed",
    "servicedesk.View": "TEST_FAILED=service_test_failed_view",
    "servicedesk.Field": "NOTE=note",
}


@pytest.mark.parametrize("where", sorted(WIRE_IDS))
def test_every_id_keeps_its_value(where: str) -> None:
    package, name = where.split(".")
    declared = getattr(importlib.import_module(f"handlers.{package}.ids"), name)
    expected = dict(pair.split("=") for pair in WIRE_IDS[where].split())
    assert {member.name: member.value for member in declared} == expected


def test_a_pattern_gives_each_name_its_value_and_odd_ones_are_kept() -> None:
    made = id_set("View", "nc_{}_view", "PLAN NOT_EFFECTIVE", NEW="nc_new")
    assert [(m.name, m.value) for m in made] == [
        ("PLAN", "nc_plan_view"),
        ("NOT_EFFECTIVE", "nc_not_effective_view"),
        ("NEW", "nc_new"),
    ]
    assert made.PLAN == "nc_plan_view"


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="PLAN named twice"):
        id_set("Action", "nc_{}", "PLAN CLOSE", PLAN="nc_plan_again")


def test_two_members_with_one_value_are_refused() -> None:
    # An Enum would make the second an alias of the first, and one listener answer both.
    with pytest.raises(ValueError, match="FINISH and DONE are both 'x_done'"):
        id_set("Action", "x_{}", "DONE", FINISH="x_done")
