"""Agreement versions: recorded at start-up, a changed agreement gets a new version and an
audit row per changed key, nothing new on a restart, one version from two instances at once."""

from __future__ import annotations

import threading
from datetime import date

from sqlmodel import col, select

from bot.bootstrap import prepare_store
from bot.db import Database
from bot.policy import parse_policy
from models.agreement import AgreementRecord, AgreementVersion
from models.audit import AuditEntry
from tests.agreements.conftest import AGREEMENT_POLICY

CHANGED = AGREEMENT_POLICY.replace(
    "availability_target = 99.9", "availability_target = 99.5"
).replace('response = "30m"\nresolution = "2h"', 'response = "30m"\nresolution = "3h"')


def _versions(database) -> list[tuple[str, int]]:
    with database.session() as session:
        rows = session.exec(
            select(AgreementVersion).order_by(
                col(AgreementVersion.name), col(AgreementVersion.version)
            )
        ).all()
        return [(row.name, row.version) for row in rows]


def _trail(database, key: str) -> list[tuple[str, str | None, str | None, str | None]]:
    with database.session() as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.record_key == key).order_by(col(AuditEntry.id))
        ).all()
        return [(row.action, row.field, row.from_value, row.to_value) for row in rows]


def _gold(database) -> AgreementRecord:
    with database.session() as session:
        return session.exec(select(AgreementRecord).where(AgreementRecord.name == "Gold")).one()


def test_first_start_records_version_one_and_a_restart_records_nothing(database, clock, policy):
    prepare_store(database, policy, clock)
    clock.advance(hours=1)
    prepare_store(database, parse_policy(AGREEMENT_POLICY), clock)
    assert _versions(database) == [("Gold", 1), ("Silver", 1)]
    gold = _gold(database)
    assert (gold.version, gold.next_review) == (1, date(2026, 12, 20))
    assert _trail(database, gold.key) == [("agreement recorded", None, None, "version 1")]
    with database.session() as session:
        silver = session.exec(select(AgreementRecord).where(AgreementRecord.name == "Silver")).one()
    # Silver gives only a cadence: its first review is a year after it was first recorded.
    assert silver.next_review == date(2027, 11, 27)


def test_a_changed_agreement_gets_a_version_and_the_diff_in_the_audit_trail(
    database, clock, policy
):
    prepare_store(database, policy, clock)
    clock.advance(days=1)
    changed = parse_policy(CHANGED)
    prepare_store(database, changed, clock)
    prepare_store(database, changed, clock)  # a restart: nothing new
    assert _versions(database) == [("Gold", 1), ("Gold", 2), ("Silver", 1)]
    gold = _gold(database)
    assert gold.version == 2
    assert _trail(database, gold.key)[1:] == [
        ("agreement changed", "availability_target", "99.9", "99.5"),
        ("agreement changed", "incident_targets.P2.resolution", "2h", "3h"),
    ]
    with database.session() as session:
        notes = session.exec(
            select(AuditEntry.note).where(AuditEntry.action == "agreement changed")
        ).all()
    assert notes == ["version 2", "version 2"]
    # Back to the first terms is a change too: version 3, not a return to version 1.
    clock.advance(days=1)
    prepare_store(database, policy, clock)
    assert _versions(database)[-2] == ("Gold", 3)


def test_a_new_review_date_in_the_file_moves_the_review(database, clock, policy):
    prepare_store(database, policy, clock)
    moved = parse_policy(AGREEMENT_POLICY.replace("2026-12-20", "2027-01-15"))
    prepare_store(database, moved, clock)
    assert _gold(database).next_review == date(2027, 1, 15)
    assert ("agreement changed", "next_review", "2026-12-20", "2027-01-15") in _trail(
        database, _gold(database).key
    )


def test_two_instances_starting_at_once_record_one_version(database, clock, policy):
    prepare_store(database, policy, clock)
    changed = parse_policy(CHANGED)
    others = [
        Database(database.engine),
        Database.from_url(database.engine.url.render_as_string(hide_password=False)),
    ]
    gate = threading.Barrier(2)
    failures: list[BaseException] = []

    def start(db: Database) -> None:
        try:
            gate.wait()
            prepare_store(db, changed, clock)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=start, args=(db,)) for db in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    others[1].dispose()
    assert failures == []
    assert _versions(database) == [("Gold", 1), ("Gold", 2), ("Silver", 1)]
    changes = [
        row for row in _trail(database, _gold(database).key) if row[0] == "agreement changed"
    ]
    assert len(changes) == 2


def test_units_as_written_matter_on_the_business_clock(database, clock, policy):
    prepare_store(database, policy, clock)
    # Silver's P2 resolution "1d": one working day (8h) on the business clock, not 24h.
    business = AGREEMENT_POLICY.replace(
        'response = "2h"\nresolution = "1d"',
        'response = "2h"\nresolution = "1d"\ncalendar = "business"',
    )
    prepare_store(database, parse_policy(business), clock)
    prepare_store(
        database,
        parse_policy(
            business.replace('resolution = "1d"\ncalendar', 'resolution = "24h"\ncalendar')
        ),
        clock,
    )
    assert _versions(database)[-3:] == [("Silver", 1), ("Silver", 2), ("Silver", 3)]
    with database.session() as session:
        silver = session.exec(select(AgreementRecord).where(AgreementRecord.name == "Silver")).one()
    assert _trail(database, silver.key)[-1] == (
        "agreement changed",
        "incident_targets.P2.resolution",
        "1d",
        "24h",
    )
