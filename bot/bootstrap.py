"""Bringing the store in line with the policy before the first request is served."""

from __future__ import annotations

from bot.db import Database
from models.policy import Policy
from services import agreement_versions, cmdb
from services.clock import Clock


def prepare_store(db: Database, policy: Policy, clock: Clock) -> None:
    """Make every service of the policy file a CMDB item, so the type-ahead offers it and
    impact analysis ends at it; record a new version of every agreement whose terms changed."""
    with db.session() as session:
        cmdb.sync_policy_services(session, policy=policy, now=clock.now())
    with db.session() as session:
        agreement_versions.record_versions(session, policy=policy, now=clock.now())
