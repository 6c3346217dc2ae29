"""The reminder sweep for releases and changes at the service level: which reminders each
record holds in each state, their exact texts, and what the sweep counts."""

from __future__ import annotations

from datetime import timedelta

from bot.db import Database
from models.policy import Policy
from services import change_reminders, changes, notifications, releases, reminders
from services.clock import ManualClock
from services.permissions import Actor
from tests.changes.conftest import REQUESTER, WINDOW_START, Submit, approved_change
from tests.changes.release_support import MANAGER as RELEASE_MANAGER
from tests.changes.release_support import make_release

MANAGER = RELEASE_MANAGER.user_id


def _sweep(database: Database, clock: ManualClock, policy: Policy) -> int:
    with database.session() as session:
        return change_reminders.sweep(session, now=clock.now(), policy=policy)


def _pending(database: Database, key: str) -> list[tuple[str, str, str]]:
    with database.session() as session:
        return [
            (row.stage, row.recipient, row.text)
            for row in notifications.for_record(session, record_key=key, kind=reminders.KIND)
            if row.status == "pending"
        ]


def test_sweep_plans_a_releases_reminders_with_their_texts(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    change = approved_change(database, clock, policy, awaiting)
    release = make_release(database, clock, [change], name="Pay*ments*", version="<2.4>")
    added = _sweep(database, clock, policy)
    head = "*REL-1* Pay*ments* &lt;2.4&gt;"
    assert _pending(database, release) == [
        (
            "before_start:1d@20261130T200000Z",
            MANAGER,
            f":calendar: Reminder: the deployment window of {head} opens in 1d "
            "(Tue 01 Dec 20:00 UTC).",
        ),
        (
            "before_start:1h@20261201T190000Z",
            MANAGER,
            f":calendar: Reminder: the deployment window of {head} opens in 1h "
            "(Tue 01 Dec 20:00 UTC).",
        ),
        (
            "at_start@20261201T200000Z",
            MANAGER,
            f":arrow_forward: The deployment window of {head} opens now.",
        ),
    ]
    # The count is every reminder added, of the change and of the release.
    assert added == len(_pending(database, change)) + 3
    assert _sweep(database, clock, policy) == 0


def test_a_cancelled_release_or_change_loses_its_pending_reminders(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    change = approved_change(database, clock, policy, awaiting)
    release = make_release(database, clock, [change])
    _sweep(database, clock, policy)
    assert len(_pending(database, release)) == 3 and _pending(database, change)
    with database.session() as session:
        releases.cancel(session, key=release, actor=Actor(MANAGER), now=clock.now())
        changes.cancel(session, key=change, actor=Actor(REQUESTER), now=clock.now(), note="Not now")
    assert _sweep(database, clock, policy) == 0
    assert _pending(database, release) == [] and _pending(database, change) == []
    with database.session() as session:
        # Cancelled, not deleted: each row is still there, once.
        statuses = [r.status for r in notifications.for_record(session, record_key=release)]
    assert statuses == ["cancelled"] * 3


def test_reminders_of_other_kinds_are_not_the_sweeps_business(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    # A pending SLA warning for a change key that does not exist: not a reminder, not synced.
    with database.session() as session:
        notifications.schedule(
            session,
            record_key="CHG-404",
            kind="sla",
            stage="warning",
            recipient="U1",
            due_at=clock.now() + timedelta(hours=1),
            text="not a reminder",
            now=clock.now(),
        )
    assert _sweep(database, clock, policy) == 0
    with database.session() as session:
        [row] = notifications.for_record(session, record_key="CHG-404")
    assert row.status == "pending"


def test_change_reminder_texts(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        change = changes.get(session, key=key)

        def text(stage: str) -> str:
            return change_reminders.change_text(
                change, reminders.Planned(stage, WINDOW_START, "UIMPL1")
            )

        head = "*CHG-1* Upgrade the payments database"
        assert text("before_start:1h") == (
            f":calendar: Reminder: the window of {head} opens in 1h (Tue 01 Dec 20:00 UTC). "
            "You are the implementer."
        )
        assert text("at_start") == (
            f":arrow_forward: The window of {head} opens now. Press *Start implementation* "
            "when you begin."
        )
        assert text("overrun") == (
            f":hourglass: {head} was planned to end at Tue 01 Dec 22:00 UTC and is still being "
            "implemented. Complete it, or back it out and record that in the review."
        )
        assert text("review") == (
            f":memo: {head} is waiting for its post-implementation review: record the outcome."
        )


def test_syncing_one_change_queues_its_plan_and_keeps_only_the_review_once_implemented(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        added = change_reminders.sync_change(session, key=key, policy=policy, now=clock.now())
    assert added == [
        "before_start:1d@20261130T200000Z",
        "before_start:1h@20261201T190000Z",
        "at_start@20261201T200000Z",
        "overrun@20261201T220000Z",
        "review@20261203T220000Z",
    ]
    head = "*CHG-1* Upgrade the payments database"
    opens = f":calendar: Reminder: the window of {head} opens in %s (Tue 01 Dec 20:00 UTC). "
    review = f":memo: {head} is waiting for its post-implementation review: record the outcome."
    assert _pending(database, key) == [
        (added[0], "UIMPL1", opens % "1d" + "You are the implementer."),
        (added[1], "UIMPL1", opens % "1h" + "You are the implementer."),
        (
            added[2],
            "UIMPL1",
            f":arrow_forward: The window of {head} opens now. Press *Start implementation* "
            "when you begin.",
        ),
        (
            added[3],
            "UIMPL1",
            f":hourglass: {head} was planned to end at Tue 01 Dec 22:00 UTC and is still being "
            "implemented. Complete it, or back it out and record that in the review.",
        ),
        (added[4], REQUESTER, review),
    ]
    with database.session() as session:
        assert change_reminders.sync_change(session, key=key, policy=policy, now=clock.now()) == []
        changes.schedule(session, key=key, actor=Actor("UIMPL1"), now=clock.now(), policy=policy)
        changes.start_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
        changes.complete_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
    with database.session() as session:
        again = change_reminders.sync_change(session, key=key, policy=policy, now=clock.now())
    # In review: only the review is left, due two days after the implementation ended (now).
    assert again == ["review@20261129T100000Z"]
    assert _pending(database, key) == [(again[0], REQUESTER, review)]


def test_syncing_one_release_queues_its_window_reminders_and_a_cancelled_one_none(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    change = approved_change(database, clock, policy, awaiting)
    release = make_release(database, clock, [change], name="Pay*ments*", version="<2.4>")
    with database.session() as session:
        change_reminders.sync_change(session, key=change, policy=policy, now=clock.now())
        added = change_reminders.sync_release(session, key=release, policy=policy, now=clock.now())
    assert added == [
        "before_start:1d@20261130T200000Z",
        "before_start:1h@20261201T190000Z",
        "at_start@20261201T200000Z",
    ]
    head = "*REL-1* Pay*ments* &lt;2.4&gt;"
    opens = (
        f":calendar: Reminder: the deployment window of {head} opens in %s (Tue 01 Dec 20:00 UTC)."
    )
    assert _pending(database, release) == [
        (added[0], MANAGER, opens % "1d"),
        (added[1], MANAGER, opens % "1h"),
        (added[2], MANAGER, f":arrow_forward: The deployment window of {head} opens now."),
    ]
    with database.session() as session:
        releases.cancel(session, key=release, actor=Actor(MANAGER), now=clock.now())
    with database.session() as session:
        assert (
            change_reminders.sync_release(session, key=release, policy=policy, now=clock.now())
            == []
        )
    assert _pending(database, release) == []
    # The release's sync leaves the change's reminders alone.
    assert len(_pending(database, change)) == 5
