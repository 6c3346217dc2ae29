"""Answering a satisfaction survey at the service level: the question and its buttons, a score
checked and taken once, a comment after the score (once, within its limit), who may follow a
low score up."""

from __future__ import annotations

import json

import pytest

from models.relationship import Survey
from services import audit, notifications, surveys
from services.errors import AlreadyDone, Forbidden, InvalidInput, NotFound
from services.permissions import Actor
from tests.relationships.conftest import AGENT, OWNER, REPORTER, resolved_incident

ME = Actor(REPORTER, frozenset())
STRANGER = Actor("U0STRANGER", frozenset())


def _asked(database, clock, policy, **extra) -> str:  # type: ignore[no-untyped-def]
    key = resolved_incident(database, clock, policy, **extra)
    with database.session() as session:
        assert surveys.sweep(session, now=clock.now(), policy=policy) == [key]
    return key


def _answer(database, clock, policy, key, score, actor=ME):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return surveys.answer(
            session, record_key=key, score=score, actor=actor, now=clock.now(), policy=policy
        )


def _comment(database, clock, policy, key, text, actor=ME):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return surveys.add_comment(
            session, record_key=key, comment=text, actor=actor, now=clock.now(), policy=policy
        )


def _survey(database, key: str) -> Survey:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.get(Survey, surveys._survey(session, key).id)


def _satisfaction_rows(database, key: str) -> list[tuple[str | None, str | None, str | None]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [
            (row.field, row.to_value, row.note)
            for row in audit.trail(session, key=key)
            if row.action == "satisfaction"
        ]


def test_the_question_names_the_record_and_offers_five_scores(database, clock, policy):
    key = _asked(database, clock, policy, title="Checkout <b>slow</b>")
    with database.session() as session:
        (row,) = notifications.for_record(session, record_key=key, kind=surveys.KIND)
    assert (row.stage, row.recipient) == ("ask", REPORTER)
    assert row.text == (
        f":wave: {key} (Checkout &lt;b&gt;slow&lt;/b&gt;) was resolved. "
        "How did it go? 1 is very poor, 5 is excellent."
    )
    assert json.loads(row.blocks or "null") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": row.text}},
        {
            "type": "actions",
            "block_id": f"survey|{key}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": str(n)},
                    "action_id": f"survey_score_{n}",
                    "value": key,
                }
                for n in (1, 2, 3, 4, 5)
            ],
        },
    ]


def test_a_score_is_checked_taken_once_and_audited(database, clock, policy):
    key = _asked(database, clock, policy)
    for wrong in (0, 6, -1):
        with pytest.raises(InvalidInput, match=r"^Scores run from 1 to 5\.$"):
            _answer(database, clock, policy, key, wrong)
    with pytest.raises(Forbidden) as refused:
        _answer(database, clock, policy, key, 4, actor=STRANGER)
    assert str(refused.value) == (
        f"Refused, because this survey about {key} was for <@{REPORTER}>; only they can answer it."
    )
    clock.advance(minutes=3)
    answered = _answer(database, clock, policy, f"  {key.lower()} ", 4)
    assert (answered.low, answered.told) == (False, [])
    stored = _survey(database, key)
    assert (stored.score, stored.status, stored.answered_at) == (4, "answered", clock.now())
    with pytest.raises(AlreadyDone) as again:
        _answer(database, clock, policy, key, 1)
    assert str(again.value) == (f"You already rated {key} 4/5; thank you. One answer per record.")
    assert _survey(database, key).score == 4
    assert _satisfaction_rows(database, key) == [("score", "4", None)]


def test_a_comment_follows_the_score_once_and_within_its_limit(database, clock, policy):
    key = _asked(database, clock, policy)
    with pytest.raises(InvalidInput, match=r"^Choose a score first\.$"):
        _comment(database, clock, policy, key, "Quick, thanks")
    _answer(database, clock, policy, key, 5)
    for blank in ("", "   \n "):
        with pytest.raises(InvalidInput, match=r"^Write a comment, or close the form\.$"):
            _comment(database, clock, policy, key, blank)
    too_long = "x" * (surveys.COMMENT_MAX + 1)
    with pytest.raises(InvalidInput) as long_one:
        _comment(database, clock, policy, key, too_long)
    assert str(long_one.value) == "Keep the comment under 2000 characters (it has 2001)."
    with pytest.raises(Forbidden):
        _comment(database, clock, policy, key, "Not mine", actor=STRANGER)
    just = " " + "y" * surveys.COMMENT_MAX + " "
    answered = _comment(database, clock, policy, key, just)
    assert answered.low is False
    assert _survey(database, key).comment == "y" * surveys.COMMENT_MAX
    with pytest.raises(AlreadyDone) as again:
        _comment(database, clock, policy, key, "More")
    assert str(again.value) == f"Your comment on {key} is already recorded; thank you."
    assert _satisfaction_rows(database, key) == [
        ("score", "5", None),
        ("comment", None, "y" * surveys.COMMENT_MAX),
    ]


def test_a_skipped_or_unknown_survey_cannot_be_answered(database, clock, policy):
    quiet = resolved_incident(database, clock, policy, service="wiki")  # surveys off there
    with database.session() as session:
        assert surveys.sweep(session, now=clock.now(), policy=policy) == []
    for key, named in ((quiet, quiet), ("INC-999", "INC-999"), ("<!here>", "&lt;!here&gt;")):
        with pytest.raises(NotFound) as missing:
            _answer(database, clock, policy, key, 3)
        assert str(missing.value) == f"There is no survey about {named}."


def test_a_low_score_is_followed_up_by_those_told_or_an_agent_once(database, clock, policy):
    key = _asked(database, clock, policy)
    answered = _answer(database, clock, policy, key, 1)
    lead = policy.team(answered.survey.team).lead
    assert answered.told == [lead, OWNER]
    for who in (Actor(lead, frozenset()), Actor(OWNER, frozenset()), AGENT):
        with database.session() as session:
            survey = surveys.check_follow_up(session, record_key=key, actor=who, policy=policy)
            assert survey.record_key == key
    with pytest.raises(
        Forbidden,
        match="^Refused, because only the team lead, the relationship owner or an agent can",
    ):
        with database.session() as session:
            surveys.check_follow_up(session, record_key=key, actor=STRANGER, policy=policy)
    with database.session() as session:
        survey = surveys._survey(session, key)
        survey.follow_up = "PRB-4"
    with pytest.raises(AlreadyDone) as done:
        with database.session() as session:
            surveys.check_follow_up(session, record_key=key, actor=AGENT, policy=policy)
    assert str(done.value) == f"PRB-4 already follows up {key}."
