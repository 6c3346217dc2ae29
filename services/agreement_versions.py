"""Change control of agreements: every version of an agreement's terms is recorded, and what
changed between two versions goes into the audit trail (key, from, to).

The policy file is where an admin edits an agreement; at start-up `record_versions` compares
each agreement with the version last recorded and, when they differ, records the next version.
Safe to run on every start and from two processes at once: (name, version) is unique, so the
second writer of the same version is refused and simply finds it recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.agreement import AgreementRecord, AgreementVersion
from models.agreement_policy import Agreement
from models.policy import Policy
from models.sla_policy import PRIORITIES, format_duration
from services import audit
from services.errors import NotFound

SYSTEM_ACTOR = "servicedesk"
FIELD_MAX = 40


def canonical(agreement: Agreement) -> dict[str, Any]:
    """The agreement's terms as plain JSON values, in one spelling per meaning (services sorted,
    durations in their written units), so only a real change makes a new version."""
    targets = {
        key: {
            "response": target.written("response"),
            "resolution": target.written("resolution"),
            "calendar": target.calendar,
        }
        for key in PRIORITIES
        if (target := agreement.incident_targets.get(key)) is not None
    }
    requests = {
        which: format_duration(value)
        for which in ("response", "fulfilment")
        if (value := getattr(agreement.request_targets, which)) is not None
    }
    body: dict[str, Any] = {
        "name": agreement.name,
        "customer": agreement.customer,
        "services": sorted(agreement.services, key=str.lower),
        "owner": agreement.owner,
        "availability_target": agreement.availability_target,
        "calendar": agreement.calendar,
        "incident_targets": targets,
        "request_targets": requests,
        "review_every": agreement.review_every,
        "next_review": agreement.next_review.isoformat() if agreement.next_review else None,
        "remind_before": [format_duration(before) for before in agreement.remind_before],
    }
    if agreement.service_hours is not None:
        # Only when set, so agreements recorded before service hours existed stay unchanged.
        body["service_hours"] = agreement.service_hours.model_dump(mode="json")
    return body


def body_of(agreement: Agreement) -> str:
    return json.dumps(canonical(agreement), sort_keys=True, separators=(",", ":"))


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict) and value:
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if value is None or value == {}:
        return {prefix: ""} if prefix else {}
    if isinstance(value, list):
        return {prefix: ", ".join(str(item) for item in value)}
    return {prefix: str(value)}


@dataclass(frozen=True)
class Difference:
    key: str
    before: str | None
    after: str | None


def differences(old_body: str, new_body: str) -> list[Difference]:
    """What changed between two recorded bodies, one entry per leaf key, sorted by key."""
    old, new = _flatten(json.loads(old_body)), _flatten(json.loads(new_body))
    out = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key) or None, new.get(key) or None
        if before != after:
            out.append(Difference(key, before, after))
    return out


@dataclass(frozen=True)
class Recorded:
    name: str
    version: int
    changes: list[Difference]


def _latest(session: Session, name: str) -> AgreementVersion | None:
    return session.exec(
        select(AgreementVersion)
        .where(AgreementVersion.name == name)
        .order_by(col(AgreementVersion.version).desc())
        .limit(1)
    ).first()


def _record_one(session: Session, agreement: Agreement, *, now: datetime) -> Recorded | None:
    body = body_of(agreement)
    latest = _latest(session, agreement.name)
    if latest is not None and latest.body == body:
        return None
    number = 1 if latest is None else latest.version + 1
    changes = [] if latest is None else differences(latest.body, body)
    try:
        with session.begin_nested():
            session.add(
                AgreementVersion(name=agreement.name, version=number, body=body, recorded_at=now)
            )
            record = session.exec(
                select(AgreementRecord).where(AgreementRecord.name == agreement.name)
            ).first()
            if record is None:
                record = AgreementRecord(
                    name=agreement.name,
                    version=number,
                    next_review=agreement.first_review(today=now.date()),
                    created_at=now,
                    updated_at=now,
                )
            else:
                record.version = number
                record.updated_at = now
                if agreement.next_review is not None and any(
                    change.key == "next_review" for change in changes
                ):
                    # The admin moved the review date in the file: that is the date now.
                    record.next_review = agreement.next_review
            session.add(record)
            session.flush()
    except IntegrityError:
        # Another process recorded this version (or created the agreement) first.
        return None
    if latest is None:
        audit.record(
            session,
            key=record.key,
            actor=SYSTEM_ACTOR,
            at=now,
            action="agreement recorded",
            after=f"version {number}",
            note=f"{agreement.name} with {agreement.customer}",
        )
    for change in changes:
        audit.record(
            session,
            key=record.key,
            actor=SYSTEM_ACTOR,
            at=now,
            action="agreement changed",
            field=change.key[:FIELD_MAX],
            before=change.before,
            after=change.after,
            note=f"version {number}",
        )
    return Recorded(agreement.name, number, changes)


def record_versions(session: Session, *, policy: Policy, now: datetime) -> list[Recorded]:
    """Record a new version of every agreement whose terms differ from its last recorded one
    (the first version of a new one), with an audit row per changed key. Returns what was
    recorded; nothing when the file has not changed since the last start."""
    out = []
    for agreement in policy.agreements:
        recorded = _record_one(session, agreement, now=now)
        if recorded is not None:
            out.append(recorded)
    return out


def record_of(session: Session, *, name: str) -> AgreementRecord:
    """The stored standing of the agreement called `name`."""
    record = session.exec(select(AgreementRecord).where(AgreementRecord.name == name)).first()
    if record is None:
        raise NotFound(f"The agreement '{name}' has not been recorded yet; restart the bot.")
    return record


def history(session: Session, *, name: str) -> list[AgreementVersion]:
    """Every recorded version of an agreement, oldest first."""
    return list(
        session.exec(
            select(AgreementVersion)
            .where(AgreementVersion.name == name)
            .order_by(col(AgreementVersion.version))
        )
    )
