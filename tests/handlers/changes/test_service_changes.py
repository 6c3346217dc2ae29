"""Service changes (issue 14, clause 5) through signed Slack requests and the real Bolt App: the
`/change service` form, approval as a normal change, the acceptance test gate on Start
implementation, and the CMDB and the service list following the completed change."""

from __future__ import annotations

import threading

from sqlmodel import select

from models.audit import AuditEntry
from models.cmdb import ConfigItem
from models.service_change import TEXT_MAX, AcceptanceResult, ServiceChange
from services import changes, cmdb, service_list
from tests.handlers.changes.conftest import REQUESTER, buttons, latest_view
from tests.handlers.changes.test_change_flow import change_message, last_answer, status
from tests.handlers.hostile import HOSTILE_SHORT, assert_no_markup

CRITERIA = "Invoices are issued for a test customer\nRefunds reach the card"


def propose(slack, fake_slack, **overrides):  # type: ignore[no-untyped-def]
    """Open `/change service`, fill it in and submit it; returns the submission's result."""
    user = overrides.pop("user", REQUESTER)
    slack.command("/change", "service", user_id=user, channel_id="C0WORK")
    view = latest_view(fake_slack)
    assert view["callback_id"] == "change_service_view"
    answers = {
        "service_action": "new",
        "service_name": "billing",
        "team": "platform",
        "requirements": "Issue invoices monthly",
        "design": "A worker beside payments",
        "criteria": CRITERIA,
        "agreement": "Gold, 99.5 %",
        "capacity": "200 invoices a minute",
        "budget": "EUR 20,000 a year",
        "risk": "low",
        "planned_start": START,
        "planned_end": END,
        "backout_plan": "Switch the worker off",
    }
    answers.update(overrides)
    answers = {k: v for k, v in answers.items() if v is not None}
    return slack.submit(view, answers, user_id=user)


from tests.handlers.changes.conftest import END, START  # noqa: E402


def click(slack, fake_slack, database, action: str, user: str = REQUESTER):  # type: ignore[no-untyped-def]
    return slack.click(
        change_message(fake_slack, database), action, user_id=user, channel_id="C0CHANGES"
    )


def to_scheduled(slack, fake_slack, database, **overrides) -> None:  # type: ignore[no-untyped-def]
    result = propose(slack, fake_slack, **overrides)
    assert result.status == 200 and not result.body, result.body
    click(slack, fake_slack, database, "change_assess")
    click(slack, fake_slack, database, "change_submit")
    assert status(database) == "awaiting_approval"
    request = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == "C0APPROVALS" and "Approval requested" in c.args["text"]
    ][-1]
    message = fake_slack.message(request.response["channel"], request.response["ts"])
    slack.click(message, "change_approve", user_id="U0APPROVER1", channel_id="C0APPROVALS")
    assert status(database) == "approved"
    click(slack, fake_slack, database, "change_schedule")
    assert status(database) == "scheduled"


def record_test(slack, fake_slack, database, results: list[str], user: str = REQUESTER):  # type: ignore[no-untyped-def]
    click(slack, fake_slack, database, "change_accept", user)
    view = latest_view(fake_slack)
    assert view["callback_id"] == "change_accept_view"
    answers = {}
    for number, result in enumerate(results, start=1):
        answers[f"criterion_{number}"] = result
        answers[f"note_{number}"] = f"run {number}: {result}"
    return view, slack.submit(view, answers, user_id=user)


def test_a_new_service_is_accepted_implemented_and_joins_the_cmdb_and_the_service_list(
    slack, fake_slack, database, policy
):
    to_scheduled(slack, fake_slack, database)
    with database.session() as session:
        change = changes.get(session, key="CHG-1")
        assert change.type == "service" and change.title == "New service: billing"
        detail = session.get(ServiceChange, change.id)
        assert detail.criteria_list == CRITERIA.split("\n")
        assert detail.budget == "EUR 20,000 a year" and detail.team == "platform"
    message = change_message(fake_slack, database)
    assert "change_accept" in buttons(message)
    assert "0 of 2 criteria passed" in str(message["blocks"])

    # Start implementation is refused until every criterion passed.
    click(slack, fake_slack, database, "change_start")
    answer = last_answer(fake_slack)
    assert answer.startswith("Refused, because the acceptance test of CHG-1")
    assert "1. Invoices are issued" in answer and "2. Refunds reach the card (not tested)" in answer
    assert status(database) == "scheduled"

    _, result = record_test(slack, fake_slack, database, ["passed", "failed"])
    assert result.status == 200 and not result.body
    assert "1 of 2 criteria passed" in str(change_message(fake_slack, database)["blocks"])
    click(slack, fake_slack, database, "change_start")
    answer = last_answer(fake_slack)
    assert "2. Refunds reach the card (failed)" in answer and "1. Invoices" not in answer
    assert status(database) == "scheduled"

    record_test(slack, fake_slack, database, ["passed", "passed"], user="U0AGENT2")
    click(slack, fake_slack, database, "change_start", "U0AGENT2")
    assert status(database) == "implementing"
    # Not in the service list before the change completes.
    with database.session() as session:
        assert service_list.find(session, policy=policy, name="billing") is None
    click(slack, fake_slack, database, "change_complete", "U0AGENT2")
    assert status(database) == "review"

    with database.session() as session:
        item = cmdb.find_by_name(session, name="billing")
        assert item is not None and item.type == "service" and item.status == "live"
        assert item.team == "platform"
        assert cmdb.attributes_of(item)["added_by"] == "CHG-1"
        listed = service_list.find(session, policy=policy, name="Billing")
        assert listed is not None and listed.team == "platform"
        assert "billing" in [s.name for s in service_list.offered(session, policy=policy)]
        trail = [(e.action, e.actor) for e in session.exec(select(AuditEntry)).all()]
        assert ("service added", "U0AGENT2") in trail
        assert ("acceptance test", REQUESTER) in trail
        assert session.get(ServiceChange, 1).item_key == item.key
    assert "added to the service list" in str(change_message(fake_slack, database)["blocks"])

    # Selectable in forms: the change service form and the incident form's type-ahead.
    slack.command("/change", "service", user_id=REQUESTER, channel_id="C0WORK")
    assert "billing" in str(latest_view(fake_slack)["blocks"])
    slack.command("/feedback", "", user_id="U0REPORTER", channel_id="C0WORK")
    assert "billing" in str(latest_view(fake_slack)["blocks"])
    found = slack.suggest(action_id="service", block_id="service", value="bil", user_id=REQUESTER)
    assert "billing" in str(found.body)
    slack.command("/incident", "", user_id="U0REPORTER", channel_id="C0WORK")
    view = latest_view(fake_slack)
    with database.session() as session:
        key = cmdb.find_by_name(session, name="billing").key
    result = slack.submit(
        view,
        {"title": "Invoices late", "impact": "medium", "urgency": "medium", "service": key},
        user_id="U0REPORTER",
    )
    assert result.status == 200 and not result.body, result.body
    from services import incidents

    with database.session() as session:
        incident = incidents.get(session, key="INC-1")
        assert (incident.service, incident.team) == ("billing", "platform")


def test_a_removed_service_is_retired_and_no_longer_offered(slack, fake_slack, database, policy):
    to_scheduled(
        slack, fake_slack, database, service_action="removed", service="vpn", service_name=None
    )
    record_test(slack, fake_slack, database, ["passed", "passed"])
    click(slack, fake_slack, database, "change_start")
    click(slack, fake_slack, database, "change_complete")
    with database.session() as session:
        assert changes.get(session, key="CHG-1").title == "Removal of service: vpn"
        assert cmdb.find_by_name(session, name="vpn").status == "retired"
        assert [s.name for s in service_list.offered(session, policy=policy)] == ["payments"]
        assert service_list.find(session, policy=policy, name="vpn") is None
    slack.command("/change", "service", user_id=REQUESTER, channel_id="C0WORK")
    assert "vpn" not in str(latest_view(fake_slack)["blocks"])
    slack.command("/feedback", "", user_id="U0REPORTER", channel_id="C0WORK")
    assert "payments" in str(latest_view(fake_slack)["blocks"])
    assert "vpn" not in str(latest_view(fake_slack)["blocks"])
    assert "vpn" not in str(
        slack.suggest(action_id="service", block_id="service", value="vp", user_id=REQUESTER).body
    )
    # A forged incident on the retired service is refused in plain words.
    slack.command("/incident", "", user_id="U0REPORTER", channel_id="C0WORK")
    view = latest_view(fake_slack)
    result = slack.submit(
        view,
        {"title": "VPN down", "impact": "low", "urgency": "low", "service": "vpn"},
        user_id="U0REPORTER",
    )
    assert "retired" in str(result.body["errors"])


def test_the_form_says_what_is_wrong_next_to_the_field(slack, fake_slack, database):
    cases = [
        ({"service_name": None}, "service_name", "Name the service"),
        ({"service_name": "payments"}, "service_name", "already a service"),
        ({"team": None}, "team", "Choose the team"),
        ({"criteria": "\n \n"}, "criteria", "at least one"),
        ({"criteria": "\n".join(f"c{n}" for n in range(21))}, "criteria", "at most 20"),
        ({"requirements": "x" * 100_000}, "requirements", "under 3000"),
        ({"design": "x" * (TEXT_MAX + 1)}, "design", "Keep the design under 3000"),
        ({"service_action": "removed", "service_name": None}, "service", "Name the service"),
        ({"backout_plan": None}, "backout_plan", "backed out"),
    ]
    for overrides, field, words in cases:
        result = propose(slack, fake_slack, **overrides)
        assert result.status == 200
        assert words in result.body["errors"].get(field, ""), (overrides, result.body)
    with database.session() as session:
        assert session.exec(select(ServiceChange)).all() == []


def test_the_form_takes_as_much_text_as_its_fields_let_a_person_type(slack, fake_slack, database):
    # The modal's inputs stop at TEXT_MAX characters; the service must accept that much.
    result = propose(slack, fake_slack, requirements="r" * TEXT_MAX, budget="b" * TEXT_MAX)
    assert result.status == 200 and "errors" not in (result.body or {}), result.body
    with database.session() as session:
        stored = session.exec(select(ServiceChange)).one()
    assert len(stored.requirements) == TEXT_MAX and len(stored.budget) == TEXT_MAX


def test_the_plain_change_form_cannot_make_a_service_change(slack, fake_slack, database):
    # A forged form: the type select offers three types; "service" is sent anyway.
    slack.command("/change", "", user_id=REQUESTER, channel_id="C0WORK")
    view = latest_view(fake_slack)
    for block in view["blocks"]:
        if block.get("block_id") == "type":
            block["element"]["options"].append(
                {"text": {"type": "plain_text", "text": "Service"}, "value": "service"}
            )
    forged = slack.submit(
        view, {"title": "Sneaky", "type": "service", "risk": "low"}, user_id=REQUESTER
    )
    assert "Choose standard, normal or emergency" in forged.body["errors"]["type"]
    with database.session() as session:
        assert changes.list_changes(session) == []


def test_strangers_and_forged_acceptance_tests_are_refused(slack, fake_slack, database):
    to_scheduled(slack, fake_slack, database)
    click(slack, fake_slack, database, "change_accept", "U0STRANGER")
    assert last_answer(fake_slack).startswith("Refused, because only the requester")
    click(slack, fake_slack, database, "change_accept")
    view = latest_view(fake_slack)
    forged = slack.submit(
        view, {"criterion_1": "passed", "criterion_2": "passed"}, user_id="U0STRANGER"
    )
    assert "Refused, because" in str(forged.body["errors"])
    # A result missing, a note too long, a value that is no choice: said next to the field.
    missing = slack.submit(view, {"criterion_1": "passed"}, user_id=REQUESTER)
    assert "criterion 2" in missing.body["errors"]["criterion_2"]
    long_note = slack.submit(
        view,
        {"criterion_1": "passed", "criterion_2": "passed", "note_2": "n" * 100_000},
        user_id=REQUESTER,
    )
    assert "under 1,000" in long_note.body["errors"]["note_2"]
    with database.session() as session:
        assert session.exec(select(AcceptanceResult)).all() == []


def test_a_form_delivered_twice_records_once_and_two_at_once_both_count(
    slack, fake_slack, database
):
    to_scheduled(slack, fake_slack, database)
    view, first = record_test(slack, fake_slack, database, ["passed", "failed"])
    again = slack.submit(
        view, {"criterion_1": "passed", "criterion_2": "failed"}, user_id=REQUESTER, retry_num=1
    )
    assert again.status == 200
    with database.session() as session:
        assert len(session.exec(select(AcceptanceResult)).all()) == 2

    click(slack, fake_slack, database, "change_accept")
    one = latest_view(fake_slack)
    click(slack, fake_slack, database, "change_accept", "U0AGENT2")
    two = latest_view(fake_slack)
    barrier = threading.Barrier(2)
    results = []

    def submit(view, user, outcome):  # type: ignore[no-untyped-def]
        barrier.wait()
        answers = {"criterion_1": "passed", "criterion_2": outcome}
        results.append(slack.submit(view, answers, user_id=user).status)

    threads = [
        threading.Thread(target=submit, args=(one, REQUESTER, "failed")),
        threading.Thread(target=submit, args=(two, "U0AGENT2", "passed")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200, 200]
    with database.session() as session:
        rows = session.exec(select(AcceptanceResult)).all()
        assert len(rows) == 6
        audits = session.exec(
            select(AuditEntry).where(AuditEntry.action == "acceptance test")
        ).all()
        assert len(audits) == 3


def test_hostile_text_stays_text(slack, fake_slack, database):
    to_scheduled(
        slack,
        fake_slack,
        database,
        service_name=HOSTILE_SHORT[:90],
        requirements=HOSTILE_SHORT,
        criteria=f"{HOSTILE_SHORT}\nplain",
        design=HOSTILE_SHORT,
    )
    record_test(slack, fake_slack, database, ["passed", "failed"])
    slack.command("/change", "show CHG-1", user_id=REQUESTER, channel_id="C0WORK")
    for call in fake_slack.calls("chat.postMessage") + fake_slack.calls("chat.update"):
        assert_no_markup(call.args.get("text") or "", "text")
        assert_no_markup(str(call.args.get("blocks") or ""), "blocks")
    for call in fake_slack.calls("response_url"):
        assert_no_markup(str(call.args), "response")
    with database.session() as session:
        assert session.exec(select(ConfigItem)).all()  # nothing lost


def test_a_service_added_by_a_change_is_usable_for_costs_and_the_report(
    slack, fake_slack, database, policy, clock, tmp_path, capsys
):
    import argparse

    from bot.admin_commands import report_command

    # Before the change completes, /cost does not know the service.
    slack.command("/cost", "billing 120 hosting", user_id=REQUESTER)
    assert "`billing` is not a service" in last_answer(fake_slack)
    to_scheduled(slack, fake_slack, database)
    record_test(slack, fake_slack, database, ["passed", "passed"], user="U0AGENT2")
    click(slack, fake_slack, database, "change_start", "U0AGENT2")
    click(slack, fake_slack, database, "change_complete", "U0AGENT2")

    slack.command("/cost", "Billing 120 hosting", user_id=REQUESTER)
    answer = last_answer(fake_slack)
    assert "against *billing*" in answer, answer
    # A bad name lists the services, the added one among them.
    slack.command("/cost", "nosuch 1 hosting", user_id=REQUESTER)
    assert "billing" in last_answer(fake_slack) and "payments" in last_answer(fake_slack)

    now = clock.now()
    args = argparse.Namespace(
        scope="billing", period=f"{now:%Y-%m}", formats=["md"], out=str(tmp_path / "out")
    )
    assert report_command(args, database, policy, now) == 0, capsys.readouterr()
    (written,) = (tmp_path / "out").rglob("*.md")
    assert "billing" in written.name and "billing" in written.read_text(encoding="utf-8")
