"""Agreement and customer scopes, and availability against the agreement's target. Runs once
agreements (`[[agreements]]`, the incidents' `agreement` column) are part of the models."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from services.errors import InvalidInput
from services.reports import build_report, parse_period, resolve
from tests.reports.conftest import REPORT_POLICY, at

AGREEMENTS = """
[[agreements]]
name = "Gold"
customer = "Acme <Retail>"
services = ["payments"]
owner = "U0GOLDOWNER"
review_every = "yearly"
availability_target = 99.9

[[agreements]]
name = "Silver"
customer = "Acme <Retail>"
services = ["vpn"]
owner = "U0SILVEROWNER"
review_every = "yearly"
availability_target = 85

[[agreements]]
name = "Bronze"
customer = "Staff"
services = ["email"]
owner = "U0BRONZEOWNER"
review_every = "yearly"
"""
NOW = at(11, 27, 10)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(REPORT_POLICY + AGREEMENTS)


def figures(database, policy, scope):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return build_report(
            session, policy, resolve(policy, scope), parse_period("2026-10", now=NOW), NOW
        ).current


def test_agreement_scope_counts_its_records_against_its_target(database, policy, october):  # type: ignore[no-untyped-def]
    gold = figures(database, policy, "agreement:gold")
    # The payments incidents: INC-1, INC-2, INC-5, INC-8.
    assert gold.incidents == 4 and gold.by_service == {"payments": 4}
    (payments,) = gold.availability
    assert payments.target == 99.9 and payments.met_target is False  # 98.66 %


def test_customer_scope_covers_all_its_agreements(database, policy, october):  # type: ignore[no-untyped-def]
    acme = figures(database, policy, "customer:acme <retail>")
    assert acme.incidents == 6 and acme.by_service == {"payments": 4, "vpn": 2}
    targets = {u.service: (u.target, u.met_target) for u in acme.availability}
    assert targets == {"payments": (99.9, False), "vpn": (85.0, True)}  # vpn 89.38 %
    # A bare name is tried as a service, then an agreement, then a customer.
    assert resolve(policy, "Silver").kind == "agreement"
    assert resolve(policy, "Staff").kind == "customer"
    with pytest.raises(InvalidInput, match="Customers: Acme <Retail>, Staff"):
        resolve(policy, "customer:Nobody")


def test_scheduled_report_for_a_customer_is_checked_at_load():  # type: ignore[no-untyped-def]
    text = REPORT_POLICY.replace('scope = "all"', 'scope = "customer:Staff"') + AGREEMENTS
    assert parse_policy(text).reports[0].scope == "customer:Staff"
