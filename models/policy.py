"""The admin's policy file (TOML), validated. Each later capability adds its own section."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from models.agreement_policy import Agreement
from models.availability_policy import AvailabilityPolicy, ServiceTests
from models.capacity_policy import CapacityRequirement, check_capacity
from models.change_policy import ChangePolicy, ReleasePolicy
from models.escalation_policy import EscalationPolicy
from models.major_incident_policy import MajorIncidentPolicy
from models.policy_types import ChannelRef, Name, SlackRef, Strict
from models.problem_policy import ProblemPolicy
from models.relationship_policy import (
    ComplaintPolicy,
    Customer,
    Supplier,
    SurveyPolicy,
    check_relationships,
)
from models.report_policy import ScheduledReport, scope_parts
from models.request_policy import RequestCatalog
from models.sla_policy import PRIORITIES, Duration, SlaPolicy, format_duration
from models.sms_policy import SmsPolicy


class Channels(Strict):
    incidents: ChannelRef = "incidents"
    escalations: ChannelRef = "incident-escalations"
    changes: ChannelRef = "changes"
    change_approvals: ChannelRef = "change-approvals"
    releases: ChannelRef = "changes"
    problems: ChannelRef | None = None  # where problems are posted; the incidents channel if unset
    stakeholders: ChannelRef | None = None  # major incidents' status updates go here too
    security: ChannelRef | None = None  # a private channel: restricted incidents' messages


class Roles(Strict):
    """Who may work records. Empty `agents` means every member of the workspace is an agent."""

    agents: list[SlackRef] = []
    admins: list[SlackRef] = []
    security: list[SlackRef] = []  # the security team: sees and works restricted incidents


class Team(Strict):
    name: Name
    lead: SlackRef | None = None
    on_call: SlackRef | None = None
    escalation_ladder: list[SlackRef] = []


class Service(Strict):
    name: Name
    team: Name
    on_call: SlackRef | None = None
    description: str = ""
    tests: ServiceTests = []


DEFAULT_CATEGORIES = ["hardware", "software", "network", "access", "security", "other"]
DEFAULT_RESOLUTION_CODES = [
    "fixed",
    "workaround",
    "configuration change",
    "user error",
    "duplicate",
    "no fault found",
]


class IncidentPolicy(Strict):
    categories: list[Name] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES), min_length=1)
    resolution_codes: list[Name] = Field(
        default_factory=lambda: list(DEFAULT_RESOLUTION_CODES), min_length=1
    )
    auto_close_after: Duration = Field(default="3d", validate_default=True)
    page_priorities: list[Annotated[int, Field(ge=1, le=5)]] = [1]
    # Incidents logged in these categories are restricted (security incidents).
    security_categories: list[Name] = []

    @model_validator(mode="after")
    def _security_categories_known(self) -> IncidentPolicy:
        for index, name in enumerate(self.security_categories):
            if name not in self.categories:
                raise ValueError(
                    f"security_categories[{index}]: '{name}' is not one of the categories "
                    f"({', '.join(self.categories)})"
                )
        return self


class Policy(Strict):
    channels: Channels = Channels()
    roles: Roles = Roles()
    teams: list[Team] = []
    services: list[Service] = []
    incidents: IncidentPolicy = IncidentPolicy()
    sla: SlaPolicy = SlaPolicy()
    changes: ChangePolicy = ChangePolicy()
    releases: ReleasePolicy = ReleasePolicy()
    catalog: RequestCatalog = RequestCatalog()
    problems: ProblemPolicy = ProblemPolicy()
    escalation: EscalationPolicy = EscalationPolicy()
    availability: AvailabilityPolicy = AvailabilityPolicy()
    reports: list[ScheduledReport] = []
    agreements: list[Agreement] = []
    customers: list[Customer] = []
    surveys: SurveyPolicy = SurveyPolicy()
    complaints: ComplaintPolicy = ComplaintPolicy()
    suppliers: list[Supplier] = []
    sms: SmsPolicy = SmsPolicy()
    major_incidents: MajorIncidentPolicy = MajorIncidentPolicy()
    capacity: list[CapacityRequirement] = []

    @model_validator(mode="after")
    def _sms_services(self) -> Policy:
        """Each [[sms.budgets]] names one of the [[services]]."""
        for index, budget in enumerate(self.sms.budgets):
            if self.service(budget.service) is None:
                names = ", ".join(s.name for s in self.services) or "none defined"
                raise ValueError(
                    f"sms.budgets[{index}].service: '{budget.service}' is not one of the "
                    f"[[services]] ({names})"
                )
        return self

    @model_validator(mode="after")
    def _references(self) -> Policy:
        team_names = [team.name for team in self.teams]
        _unique("teams", team_names)
        _unique("services", [service.name for service in self.services])
        for index, service in enumerate(self.services):
            if service.team not in team_names:
                raise ValueError(
                    f"services[{index}].team: '{service.team}' is not one of the [[teams]] "
                    f"({', '.join(team_names) or 'none defined'})"
                )
        known = {name.lower() for name in team_names}
        for team in self.sms.hourly_rates:
            if team.lower() not in known:
                raise ValueError(
                    f"sms.hourly_rates.{team}: '{team}' is not one of the [[teams]] "
                    f"({', '.join(team_names) or 'none defined'})"
                )
        _check_report_scopes(self)
        _check_agreements(self)
        return self

    @model_validator(mode="after")
    def _security_channel(self) -> Policy:
        """Restricted incidents need a private channel of their own to be announced in."""
        if self.incidents.security_categories and self.channels.security is None:
            raise ValueError(
                "incidents.security_categories: set channels.security (a private channel) "
                "for security incidents to be posted in"
            )
        return self

    @model_validator(mode="after")
    def _relationships(self) -> Policy:
        check_relationships(self)
        return self

    @model_validator(mode="after")
    def _capacity(self) -> Policy:
        check_capacity(self.capacity)
        return self

    def capacity_requirement(self, item: str, metric: str) -> CapacityRequirement | None:
        """The [[capacity]] entry for this item (any letter case) and metric, or None."""
        wanted = (" ".join(item.split()).lower(), metric.strip().lower())
        return next((r for r in self.capacity if r.key == wanted), None)

    def team(self, name: str | None) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)

    def agreement(self, name: str | None) -> Agreement | None:
        """The agreement called `name` (any letter case), or None."""
        if name is None:
            return None
        lowered = name.strip().lower()
        return next((a for a in self.agreements if a.name.lower() == lowered), None)

    def service(self, name: str | None) -> Service | None:
        if name is None:
            return None
        lowered = name.lower()
        return next((s for s in self.services if s.name.lower() == lowered), None)


def _check_report_scopes(policy: Policy) -> None:
    """Each [[reports]] scope names a service, agreement or customer the policy defines."""
    _unique("reports", [report.name for report in policy.reports])
    agreements = list(getattr(policy, "agreements", None) or [])
    known = {
        "agreement": {a.name.lower() for a in agreements},
        "customer": {(getattr(a, "customer", None) or "").lower() for a in agreements},
    }
    for index, report in enumerate(policy.reports):
        kind, name = scope_parts(report.scope)
        if kind == "service" and policy.service(name) is None:
            raise ValueError(f"reports[{index}].scope: '{name}' is not one of the [[services]]")
        if kind in known and (name or "").lower() not in known[kind]:
            raise ValueError(
                f"reports[{index}].scope: '{name}' is not an {kind} of the [[agreements]]"
                if kind == "agreement"
                else f"reports[{index}].scope: '{name}' is not a customer of the [[agreements]]"
            )


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name.lower() in seen:
            raise ValueError(f"{section}[{index}].name: '{name}' is defined twice")
        seen.add(name.lower())


def _check_agreements(policy: Policy) -> None:
    """Agreement names are unique, cover services the file defines, and keep each response
    target within its resolution target on the clock it will run on."""
    _unique("agreements", [agreement.name for agreement in policy.agreements])
    known = {service.name.lower() for service in policy.services}
    for index, item in enumerate(policy.catalog.items):
        if item.service is not None and item.service.lower() not in known:
            raise ValueError(
                f"catalog.items[{index}].service: '{item.service}' is not one of the [[services]]"
            )
    for index, agreement in enumerate(policy.agreements):
        for position, service in enumerate(agreement.services):
            if service.lower() not in known:
                names = ", ".join(s.name for s in policy.services) or "none defined"
                raise ValueError(
                    f"agreements[{index}].services[{position}]: '{service}' is not one of the "
                    f"[[services]] ({names})"
                )
        for key in PRIORITIES:
            target = agreement.incident_targets.get(key)
            if target is None:
                continue
            kind = target.calendar or agreement.calendar or policy.sla.targets[key].calendar
            resolved = target.model_copy(update={"calendar": kind})
            response = resolved.counted("response", policy.sla.calendar)
            resolution = resolved.counted("resolution", policy.sla.calendar)
            if response > resolution:
                raise ValueError(
                    f"agreements[{index}].incident_targets.{key}: the response target "
                    f"({format_duration(response)} of counted time) is longer than the "
                    f"resolution target ({format_duration(resolution)})"
                )
