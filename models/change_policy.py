"""The [changes] and [releases] sections of the policy file: approvers, quorums, the standard
change catalog, freeze windows, the risk questionnaire and reminder timing."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, model_validator

from models.change import Risk
from models.policy_types import Name, SlackRef, Strict
from models.sla_policy import Duration


class ApproverGroups(Strict):
    """Who may approve each change type: Slack user group ids (S…) or user ids (U…).
    An empty list means anyone but the requester may approve that type."""

    normal: list[SlackRef] = []
    emergency: list[SlackRef] = []


class Quorum(Strict):
    """How many distinct approvers a change needs, and how many of them must be CAB chairs."""

    approvals: int = Field(default=1, ge=1, le=20)
    chair: int = Field(default=0, ge=0, le=20)

    @model_validator(mode="after")
    def _chair_within(self) -> Quorum:
        if self.chair > self.approvals:
            raise ValueError("chair cannot exceed approvals")
        return self


class QuorumTable(Strict):
    normal_low: Quorum = Quorum(approvals=1)
    normal_medium: Quorum = Quorum(approvals=2)
    normal_high: Quorum = Quorum(approvals=2, chair=1)
    emergency_low: Quorum = Quorum(approvals=1)
    emergency_medium: Quorum = Quorum(approvals=1)
    emergency_high: Quorum = Quorum(approvals=1)

    def for_change(self, change_type: str, risk: str) -> Quorum:
        quorum: Quorum = getattr(self, f"{change_type}_{risk}")
        return quorum


class StandardChange(Strict):
    """A pre-approved change template: changes made from it go straight to Scheduled."""

    name: Name
    description: str = ""
    risk: Risk = Risk.LOW


class FreezeWindow(Strict):
    """No normal or standard change may overlap this window (on `targets` only, when given)."""

    name: Name
    start: AwareDatetime
    end: AwareDatetime
    targets: list[str] = []

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.end <= self.start:
            raise ValueError(f"freeze '{self.name}' ends before it starts")
        return self

    def overlaps(self, start: datetime, end: datetime, targets: list[str]) -> bool:
        if not (start < self.end and self.start < end):
            return False
        if not self.targets:
            return True
        wanted = {t.lower() for t in self.targets}
        return any(t.lower() in wanted for t in targets)


class RiskQuestion(Strict):
    """A yes/no question; a 'yes' adds `weight` to the risk score ('no' adds `no_weight`)."""

    id: Name
    text: str
    weight: int = Field(default=1, ge=0, le=100)
    no_weight: int = Field(default=0, ge=0, le=100)


DEFAULT_RISK_QUESTIONS = [
    RiskQuestion(id="customer_facing", text="Does it touch a customer-facing service?", weight=2),
    RiskQuestion(id="downtime", text="Does it need downtime?", weight=2),
    RiskQuestion(id="untested", text="Is this the first time this change is made?", weight=1),
    RiskQuestion(id="no_backout", text="Is the backout hard or slow?", weight=2),
    RiskQuestion(id="data", text="Does it change or migrate data?", weight=1),
]


class RiskThresholds(Strict):
    """A score at or above `medium` is medium risk; at or above `high`, high risk."""

    medium: int = Field(default=2, ge=0)
    high: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RiskThresholds:
        if self.high < self.medium:
            raise ValueError("the high threshold cannot be below the medium one")
        return self


class ChangeReminders(Strict):
    """When implementers and requesters are reminded about a change."""

    before_start: list[Duration] = Field(default_factory=lambda: ["1h"], validate_default=True)
    at_start: bool = True
    overrun: bool = True
    review_after: Duration = Field(default="1d", validate_default=True)


class ChangePolicy(Strict):
    approvers: ApproverGroups = ApproverGroups()
    cab_chair: list[SlackRef] = []
    emergency_cab: list[SlackRef] = []
    freeze_approvers: list[SlackRef] = []
    # A change marked as touching security needs one of these among its approvers too.
    security_approvers: list[SlackRef] = []
    quorum: QuorumTable = QuorumTable()
    reject_on_first: bool = True
    standard_changes: list[StandardChange] = []
    freezes: list[FreezeWindow] = []
    risk_questions: list[RiskQuestion] = Field(default_factory=lambda: list(DEFAULT_RISK_QUESTIONS))
    risk_thresholds: RiskThresholds = RiskThresholds()
    reminders: ChangeReminders = ChangeReminders()

    def standard(self, name: str | None) -> StandardChange | None:
        if name is None:
            return None
        lowered = name.strip().lower()
        return next((s for s in self.standard_changes if s.name.lower() == lowered), None)

    def freeze_over(
        self, start: datetime, end: datetime, targets: list[str]
    ) -> FreezeWindow | None:
        return next((f for f in self.freezes if f.overlaps(start, end, targets)), None)


class ReleasePolicy(Strict):
    before_start: list[Duration] = Field(
        default_factory=lambda: ["1d", "1h"], validate_default=True
    )
    at_start: bool = True
