"""The sandbox's demo data: a few configuration items always, and with --seed a month of
incidents and service requests, made through the services as people would have made them."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from importlib import resources

from sqlmodel import select

from bot.db import Database
from models.change import ChangeInput, ChangeType
from models.incident import Incident, IncidentInput, Level
from models.policy import Policy
from services import changes, cmdb_import, incidents, requests
from services.clock import Clock
from services.permissions import SYSTEM, Actor, Role

log = logging.getLogger(__name__)

ENGINEER, ON_CALL, MANAGER = "U0ENGINEER", "U0ONCALL", "U0MANAGER"
AGENT_ROLES = frozenset({Role.AGENT})

TITLES = {
    "payments": ["Card payments declined", "Invoice run stuck", "Refunds not posting",
                 "Checkout slow for EU customers", "Payment webhook errors"],
    "email": ["Mail delayed by an hour", "Calendar invites missing", "Shared mailbox locked",
              "Spam filter blocks a supplier"],
    "vpn": ["VPN drops every few minutes", "Cannot connect from the Berlin office",
            "MFA prompt loops on VPN login"],
}
RESOLUTIONS = ["fixed", "workaround", "configuration change", "user error", "no fault found"]


def load_cmdb(db: Database, clock: Clock) -> None:
    """The demo configuration items (idempotent: a second run changes nothing)."""
    text = resources.files("sandbox").joinpath("demo_cmdb.csv").read_text(encoding="utf-8")
    with db.session() as session:
        report = cmdb_import.import_file(
            session, actor=SYSTEM, now=clock.now(), text=text, format="csv"
        )
    if not report.ok:
        log.warning("demo CMDB not loaded: %s", report.errors)


def seed_month(db: Database, policy: Policy, clock: Clock, *, seed: int = 2026) -> int:
    """About two incidents a working day and a request every other day over the last 30
    days, most of them worked through to the end; nothing when the store already has
    incidents (so `--seed` with `--db` does not double them). Returns the incidents made."""
    with db.read_session() as session:
        if session.exec(select(Incident.id).limit(1)).first() is not None:
            return 0
    rng = random.Random(seed)
    now = clock.now()
    start = (now - timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    made = 0
    for day in range(30):
        opened = start + timedelta(days=day, hours=8)
        if opened.weekday() >= 5:
            continue
        for _ in range(rng.choice((1, 2, 2, 3))):
            at = opened + timedelta(minutes=rng.randrange(0, 9 * 60))
            _incident(db, policy, rng, at, now)
            made += 1
        if day % 2 == 0:
            _request(db, policy, rng, opened + timedelta(hours=rng.randrange(1, 8)), now)
        if opened.weekday() == 1:  # Tuesdays: four or five in any 30 days
            _standard_change(db, policy, opened + timedelta(hours=2), now)
    return made


def _incident(db: Database, policy: Policy, rng: random.Random, at, now) -> None:  # type: ignore[no-untyped-def]
    service = rng.choice(list(TITLES))
    impact, urgency = rng.choice(list(Level)), rng.choice(list(Level))
    data = IncidentInput(
        title=rng.choice(TITLES[service]), impact=impact, urgency=urgency, service=service,
        category=rng.choice(policy.incidents.categories),
    )
    worker = Actor(rng.choice((ON_CALL, ENGINEER, MANAGER)), AGENT_ROLES)
    with db.session() as session:
        incident, _ = incidents.create(session, data=data, reporter=ENGINEER, now=at, policy=policy)
        key = incident.key
    acked = at + timedelta(minutes=rng.randrange(3, 90))
    if acked >= now:
        return
    with db.session() as session:
        incidents.acknowledge(session, key=key, actor=worker, now=acked, policy=policy)
    resolved = acked + timedelta(hours=rng.randrange(1, 40))
    if resolved >= now or rng.random() < 0.1:
        return  # still being worked
    with db.session() as session:
        incidents.resolve(
            session, key=key, code=rng.choice(RESOLUTIONS), note="Checked with the reporter.",
            actor=worker, now=resolved, policy=policy,
        )
    closed = resolved + timedelta(days=3)
    if closed < now:
        with db.session() as session:
            incidents.close(session, key=key, actor=SYSTEM, now=closed)


def _request(db: Database, policy: Policy, rng: random.Random, at, now) -> None:  # type: ignore[no-untyped-def]
    def members_of(ref: str) -> frozenset[str]:
        return frozenset({ENGINEER, ON_CALL, MANAGER})

    name = f"team-{rng.choice(['ledger', 'billing', 'mailer', 'tunnel'])}-{rng.randrange(100)}"
    with db.session() as session:
        notify, _ = requests.submit(
            session, item_id="repository", answers={"name": name}, requester=ENGINEER,
            now=at, policy=policy,
        )
        key = notify.request.key
    fulfiller = Actor(ON_CALL, AGENT_ROLES)
    started = at + timedelta(minutes=rng.randrange(10, 120))
    if started >= now:
        return
    with db.session() as session:
        requests.start_fulfilment(
            session, key=key, actor=fulfiller, now=started, policy=policy, members_of=members_of
        )
    done = started + timedelta(hours=rng.randrange(1, 20))
    if done < now:
        with db.session() as session:
            requests.fulfil(
                session, key=key, note="Created and handed over.", actor=fulfiller, now=done,
                policy=policy, members_of=members_of,
            )


def _standard_change(db: Database, policy: Policy, at, now) -> None:  # type: ignore[no-untyped-def]
    """The weekly certificate rotation: a standard change, scheduled, done and reviewed."""
    template = policy.changes.standard_changes[0]
    start = at + timedelta(days=1)
    data = ChangeInput(
        title=template.name, type=ChangeType.STANDARD, standard_template=template.name,
        targets=["payments"], planned_start=start, planned_end=start + timedelta(hours=1),
        implementation_plan=template.description,
    )
    owner = Actor(ON_CALL, AGENT_ROLES)
    with db.session() as session:
        key = changes.create(session, data=data, requester=ON_CALL, now=at, policy=policy).key
    if start + timedelta(hours=1) >= now:
        return
    with db.session() as session:
        changes.start_implementation(session, key=key, actor=owner, now=start)
    with db.session() as session:
        changes.complete_implementation(session, key=key, actor=owner, now=start + timedelta(hours=1))
    with db.session() as session:
        changes.review(
            session, key=key, outcome="successful", note="Certificates renewed, no alerts.",
            actor=owner, now=start + timedelta(hours=2),
        )
