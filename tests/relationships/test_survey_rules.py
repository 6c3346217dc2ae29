"""The satisfaction survey's rules at the service level: a person asked recently is not asked
again until `min_interval` has passed (skipped surveys do not count, other people are not
affected), and a low score tells the team lead and the customer's owner, with the score, the
comment and a follow-up button."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from models.relationship import Survey
from services import notifications, surveys
from services.permissions import Actor
from tests.relationships.conftest import OWNER, REPORTER, resolved_incident

DAY = timedelta(days=1)  # [surveys] min_interval in the test policy
REPORTER_ACTOR = Actor(REPORTER, frozenset())


def _sweep(database, clock, policy) -> list[str]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return surveys.sweep(session, now=clock.now(), policy=policy)


def _status(database) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return {row.record_key: row.status for row in session.exec(select(Survey)).all()}


def test_a_person_asked_in_an_earlier_sweep_is_not_asked_again_within_the_interval(
    database, clock, policy
):
    first = resolved_incident(database, clock, policy)
    assert _sweep(database, clock, policy) == [first]
    clock.advance(DAY - timedelta(seconds=1))
    second = resolved_incident(database, clock, policy, title="Again")
    # Someone else, resolved at the same moment, is asked: the interval is per person.
    other = resolved_incident(database, clock, policy, reporter="U0OTHER", title="Theirs")
    assert _sweep(database, clock, policy) == [other]
    assert _status(database) == {first: "sent", second: "skipped", other: "sent"}


def test_exactly_the_interval_later_the_person_is_asked_again(database, clock, policy):
    first = resolved_incident(database, clock, policy)
    _sweep(database, clock, policy)
    clock.advance(DAY)
    second = resolved_incident(database, clock, policy, title="Again")
    assert _sweep(database, clock, policy) == [second]
    assert _status(database) == {first: "sent", second: "sent"}


def test_a_skipped_survey_does_not_count_as_asking(database, clock, policy):
    # Resolved on a service with surveys off: the row is kept as skipped, nobody was asked.
    quiet = resolved_incident(database, clock, policy, service="wiki")
    assert _sweep(database, clock, policy) == []
    clock.advance(minutes=5)
    asked = resolved_incident(database, clock, policy)
    assert _sweep(database, clock, policy) == [asked]
    assert _status(database) == {quiet: "skipped", asked: "sent"}


def test_an_answered_survey_still_counts_within_the_interval(database, clock, policy):
    first = resolved_incident(database, clock, policy)
    _sweep(database, clock, policy)
    with database.session() as session:
        surveys.answer(
            session,
            record_key=first,
            score=5,
            actor=REPORTER_ACTOR,
            now=clock.now(),
            policy=policy,
        )
    clock.advance(hours=2)
    second = resolved_incident(database, clock, policy, title="Again")
    assert _sweep(database, clock, policy) == []
    assert _status(database) == {first: "answered", second: "skipped"}


def test_a_low_score_tells_the_lead_and_the_owner_what_was_said(database, clock, policy):
    key = resolved_incident(database, clock, policy)
    _sweep(database, clock, policy)
    with database.session() as session:
        answered = surveys.answer(
            session, record_key=key, score=2, actor=REPORTER_ACTOR, now=clock.now(), policy=policy
        )
        assert answered.low
        assert answered.told == surveys.low_recipients(policy, answered.survey)
        lead = policy.team(answered.survey.team).lead
        assert answered.told == [lead, OWNER]
    with database.session() as session:
        answered = surveys.add_comment(
            session,
            record_key=key,
            comment="Took <!channel> ages",
            actor=REPORTER_ACTOR,
            now=clock.now(),
            policy=policy,
        )
    with database.session() as session:
        rows = [
            r
            for r in notifications.for_record(session, record_key=key, kind=surveys.KIND)
            if r.stage in ("low", "low_comment")
        ]
    assert sorted((r.stage, r.recipient) for r in rows) == sorted(
        [("low", OWNER), ("low", lead), ("low_comment", OWNER), ("low_comment", lead)]
    )
    score_only = next(r for r in rows if r.stage == "low")
    assert score_only.text == f":warning: <@{REPORTER}> rated {key} 2/5"
    with_comment = next(r for r in rows if r.stage == "low_comment")
    assert with_comment.text == (
        f":warning: <@{REPORTER}> rated {key} 2/5\n>Took &lt;!channel&gt; ages"
    )
    assert json.loads(with_comment.blocks or "null") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": with_comment.text}},
        {
            "type": "actions",
            "block_id": f"survey_low|{key}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open a follow-up"},
                    "action_id": surveys.FOLLOW_UP_ACTION,
                    "value": key,
                }
            ],
        },
    ]


def test_a_score_above_the_low_mark_tells_nobody(database, clock, policy):
    key = resolved_incident(database, clock, policy)
    _sweep(database, clock, policy)
    with database.session() as session:
        answered = surveys.answer(
            session, record_key=key, score=3, actor=REPORTER_ACTOR, now=clock.now(), policy=policy
        )
        assert (answered.low, answered.told) == (False, [])
