"""Satisfaction surveys through the real Bolt App and the outbox: one DM per resolved record,
five buttons, one answer, an optional comment, the min interval per person, off per service,
no survey for cancelled records, and a low score reaching the lead and the relationship owner
with a button that opens a follow-up complaint."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.incident import IncidentInput
from models.notification import Notification
from models.relationship import Complaint, Survey, SurveyStatus
from schedules.relationships import sweep_relationships
from services import incidents, surveys
from tests.relationships.conftest import AGENT, OWNER, REPORTER, resolved_incident

DM = f"D{REPORTER}"


def survey_dms(fake_slack, channel: str = DM) -> list[dict]:
    return [m for m in fake_slack.messages(channel) if "survey_score_1" in str(m.get("blocks"))]


def run_sweeps(ctx) -> None:  # type: ignore[no-untyped-def]
    sweep_relationships(db=ctx.db, clock=ctx.clock, policy=ctx.policy)
    ctx.notifier.send_due()


def test_a_resolved_incident_gets_one_survey_and_one_answer(
    ctx, slack, fake_slack, database, clock, policy
):
    key = resolved_incident(database, clock, policy)
    run_sweeps(ctx)
    run_sweeps(ctx)  # a second pass (or a restart) asks nothing again
    dms = survey_dms(fake_slack)
    assert len(dms) == 1
    buttons = dms[0]["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert key in dms[0]["text"]

    # Someone else pressing the reporter's button is refused and changes nothing.
    slack.click(dms[0], "survey_score_5", user_id="U0STRANGER", channel_id=DM)
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]

    slack.click(dms[0], "survey_score_4", user_id=REPORTER, channel_id=DM)
    thanked = fake_slack.calls("response_url")[-1].args
    assert "4/5" in thanked["text"] and thanked.get("replace_original") is True
    slack.click(dms[0], "survey_score_1", user_id=REPORTER, channel_id=DM)
    assert "already rated" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as s:
        survey = s.exec(select(Survey).where(Survey.record_key == key)).one()
        assert survey.score == 4 and survey.status == SurveyStatus.ANSWERED.value
        # Not a low score: nobody was told.
        low = s.exec(select(Notification).where(Notification.stage == "low")).all()
        assert low == []

    # The DM now thanks them and offers the optional comment: a form, then stored once.
    # (The fake records what was sent to the response_url; that is the DM's new content.)
    thanked_dm = {**dms[0], "text": thanked["text"], "blocks": thanked["blocks"]}
    assert "4/5" in str(thanked_dm["blocks"]) and "survey_score_1" not in str(thanked_dm)
    slack.click(thanked_dm, "survey_comment", user_id=REPORTER, channel_id=DM)
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    forged = slack.submit(view, {"comment": "Not mine"}, user_id="U0STRANGER")
    assert "Refused, because" in str(forged.body)
    empty = slack.submit(view, {"comment": "   "}, user_id=REPORTER)
    assert empty.body["response_action"] == "errors"
    done = slack.submit(view, {"comment": "Quick & <b>kind</b>"}, user_id=REPORTER)
    assert done.status == 200 and not done.body
    again = slack.submit(view, {"comment": "Twice"}, user_id=REPORTER)
    assert "already recorded" in str(again.body)
    with database.session() as s:
        assert surveys.figures(
            s, since=clock.now() - timedelta(days=1), until=clock.now() + timedelta(seconds=1)
        ).comments == [(key, 4, "Quick & <b>kind</b>")]


def test_a_low_score_tells_the_lead_and_the_owner_and_opens_one_follow_up(
    ctx, slack, fake_slack, database, clock, policy
):
    key = resolved_incident(database, clock, policy)
    run_sweeps(ctx)
    dm = survey_dms(fake_slack)[0]
    slack.click(dm, "survey_score_2", user_id=REPORTER, channel_id=DM)
    thanked = fake_slack.calls("response_url")[-1].args
    slack.click(
        {**dm, "blocks": thanked["blocks"]}, "survey_comment", user_id=REPORTER, channel_id=DM
    )
    view = fake_slack.view(fake_slack.calls("views.open")[-1].response["view"]["id"])
    slack.submit(view, {"comment": "<!channel> took ages"}, user_id=REPORTER)
    ctx.notifier.send_due()
    # The platform lead and the Retail relationship owner, by DM, with the comment escaped.
    for person in ("U0LEAD", OWNER):
        told = [m for m in fake_slack.messages(f"D{person}") if "survey_follow_up" in str(m)]
        assert len(told) == 2, person  # the score, then the comment
        assert "2/5" in told[0]["text"] and "&lt;!channel&gt; took ages" in told[1]["text"]
    alert = [m for m in fake_slack.messages(f"D{OWNER}") if "survey_follow_up" in str(m)][0]
    slack.click(alert, "survey_follow_up", user_id="U0STRANGER", channel_id=f"D{OWNER}")
    assert "Refused, because" in fake_slack.calls("response_url")[-1].args["text"]
    slack.click(alert, "survey_follow_up", user_id=OWNER, channel_id=f"D{OWNER}")
    slack.click(alert, "survey_follow_up", user_id="U0LEAD", channel_id="DU0LEAD")
    assert "already follows up" in fake_slack.calls("response_url")[-1].args["text"]
    with database.session() as s:
        found = s.exec(select(Complaint)).all()
        assert len(found) == 1
        assert found[0].from_record == key and found[0].complainant == REPORTER
        assert found[0].owner == OWNER and found[0].customer == "Retail"
    posted = [m for m in fake_slack.messages("C0INCIDENTS") if "CMP-1" in str(m)]
    assert posted, "the follow-up complaint is announced"


def test_min_interval_off_services_and_cancelled_records(ctx, fake_slack, database, clock, policy):
    first = resolved_incident(database, clock, policy)
    second = resolved_incident(database, clock, policy, title="Again")
    resolved_incident(database, clock, policy, reporter="U0OTHER", service="wiki")
    with database.session() as s:
        cancelled, _ = incidents.create(
            s,
            data=IncidentInput(title="Oops", impact="low", urgency="low", service="payments"),
            reporter="U0THIRD",
            now=clock.now(),
            policy=policy,
        )
        incidents.cancel(
            s, key=cancelled.key, actor=AGENT, now=clock.now(), note="dup", policy=policy
        )
        cancelled_key = cancelled.key
    run_sweeps(ctx)
    assert len(survey_dms(fake_slack)) == 1  # two resolved for one person: one survey a day
    assert survey_dms(fake_slack, "DU0OTHER") == []  # wiki has surveys off
    assert survey_dms(fake_slack, "DU0THIRD") == []
    with database.session() as s:
        status = {r.record_key: r.status for r in s.exec(select(Survey)).all()}
    assert status[first] == "sent" and status[second] == "skipped"
    assert cancelled_key not in status
    # A day later the same person is asked again about a new resolution.
    clock.advance(timedelta(days=1, minutes=1))
    third = resolved_incident(database, clock, policy, title="Third time")
    run_sweeps(ctx)
    dms = survey_dms(fake_slack)
    assert len(dms) == 2 and third in dms[-1]["text"]


def test_a_survey_row_is_inserted_once_whatever_races(database, clock, policy):
    """Two replicas finding the same record: the unique key keeps one row, and only the
    process that inserted it queues the DM."""
    key = resolved_incident(database, clock, policy)
    with database.session() as a:
        found = surveys.candidates(a, now=clock.now(), policy=policy)
        assert [c.record_key for c in found] == [key]
        row = {
            "record_key": key,
            "recipient": REPORTER,
            "service": "payments",
            "team": "platform",
            "customer": None,
            "status": "sent",
            "created_at": clock.now(),
        }
        assert surveys._insert(a, [row]) == {key}
        assert surveys._insert(a, [row]) == set()
    with database.session() as b:
        assert surveys.sweep(b, now=clock.now(), policy=policy) == []
        assert len(b.exec(select(Survey)).all()) == 1


def test_the_sweep_statement_count_does_not_grow_with_what_is_due(database, clock, policy):
    from sqlalchemy import event

    def count(n: int) -> int:
        for i in range(n):
            resolved_incident(database, clock, policy, reporter=f"U0R{n}X{i}")
        statements = []
        with database.session() as s:
            listener = lambda *args: statements.append(1)  # noqa: E731
            event.listen(s.get_bind(), "before_cursor_execute", listener)
            try:
                asked = surveys.sweep(s, now=clock.now(), policy=policy)
            finally:
                event.remove(s.get_bind(), "before_cursor_execute", listener)
        assert len(asked) == n
        return len(statements)

    assert count(2) == count(20)


def test_fulfilled_requests_are_surveyed_too(ctx, fake_slack, database, clock):
    from bot.policy import parse_policy
    from services import requests
    from tests.relationships.conftest import RELATIONSHIP_POLICY

    policy = parse_policy(
        RELATIONSHIP_POLICY
        + """
[[catalog.items]]
id = "laptop"
name = "New laptop"
fulfilment_team = "platform"
service = "payments"
"""
    )
    checks = {"policy": policy, "members_of": lambda ref: frozenset({ref})}
    with database.session() as s:
        notify, _ = requests.submit(
            s, item_id="laptop", answers={}, requester=REPORTER, now=clock.now(), policy=policy
        )
        key = notify.request.key
        requests.start_fulfilment(s, key=key, actor=AGENT, now=clock.now(), **checks)
        requests.fulfil(s, key=key, note="shipped", actor=AGENT, now=clock.now(), **checks)
    with database.session() as s:
        assert surveys.sweep(s, now=clock.now(), policy=policy) == [key]


def test_two_replicas_sweeping_at_once_ask_each_person_once(database, clock, policy):
    import threading

    keys = [resolved_incident(database, clock, policy, reporter=f"U0P{i}") for i in range(12)]
    start = threading.Barrier(2)
    asked: list[list[str]] = []

    def replica() -> None:
        start.wait()
        with database.session() as s:
            asked.append(surveys.sweep(s, now=clock.now(), policy=policy))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(asked[0] + asked[1]) == sorted(keys)
    with database.session() as s:
        rows = s.exec(select(Notification).where(Notification.kind == "survey")).all()
    assert sorted(r.record_key for r in rows) == sorted(keys)
