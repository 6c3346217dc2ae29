"""Who is in which Slack user group, cached for a short time, and the roles that follow."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from models.policy import Policy
from services.permissions import Actor, Role

log = logging.getLogger(__name__)


class Directory:
    """Expands user and user-group references into user ids. Group lookups are cached for
    `ttl_seconds`, so a burst of button clicks costs one Slack call per group.

    This is the one place membership is read: whom to ask for an approval (the handlers and
    the notifier's group expansion) and who may decide (the services, through `members`) see
    the same cached answer, so whoever was asked can decide until the cache is refreshed and
    shows they left the group."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, ref: str) -> frozenset[str]:
        """The user ids a reference stands for: itself for a user, the members for a group.
        When Slack cannot be read, what was read last (or nobody)."""
        try:
            return self.current(ref)
        except SlackApiError as error:
            log.warning("cannot read user group %s: %s", ref, error.response.get("error"))
        except OSError as error:  # timeouts and refused connections
            log.warning("cannot reach Slack for user group %s: %s", ref, error)
        with self._lock:
            cached = self._cache.get(ref)
            users = cached[1] if cached else frozenset()
            # Remember the failure for a while too, so an outage does not cost a Slack call
            # (and its timeout) on every click.
            self._cache[ref] = (self._monotonic(), users)
        return users

    def current(self, ref: str) -> frozenset[str]:
        """Like `members`, but raises SlackApiError or OSError when the group cannot be read
        and nothing fresh is cached (the notifier then retries the row later)."""
        if not ref.startswith("S"):
            return frozenset({ref})
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(ref)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        response = self._client.usergroups_users_list(usergroup=ref)
        users = frozenset(response.get("users") or [])
        with self._lock:
            self._cache[ref] = (now, users)
        return users

    def expand(self, refs: Iterable[str | None]) -> list[str]:
        seen: list[str] = []
        for ref in refs:
            if not ref:
                continue
            for user in sorted(self.members(ref)):
                if user not in seen:
                    seen.append(user)
        return seen

    def is_member(self, user_id: str, refs: Iterable[str | None]) -> bool:
        return any(ref and user_id in self.members(ref) for ref in refs)

    def warm(self, policy: Policy) -> None:
        """Read every group the policy names once, so the first click does not wait for Slack."""
        refs: list[str | None] = [*policy.roles.agents, *policy.roles.admins]
        refs += [*policy.roles.security, *policy.changes.security_approvers]
        refs += [s.on_call for s in policy.services]
        for team in policy.teams:
            refs += [team.on_call, team.lead, *team.escalation_ladder]
        refs += [item.approval for item in policy.catalog.items]
        changes = policy.changes
        refs += [*changes.approvers.normal, *changes.approvers.emergency, *changes.cab_chair]
        refs += [*changes.emergency_cab, *changes.freeze_approvers]
        for ref in {r for r in refs if r and r.startswith("S")}:
            self.members(ref)

    def actor(self, user_id: str, policy: Policy) -> Actor:
        """The person with the roles the policy gives them. With no agents configured, everyone
        is an agent (a small team that has not set roles up yet)."""
        roles: set[Role] = set()
        if self.is_member(user_id, policy.roles.admins):
            roles.add(Role.ADMIN)
        if not policy.roles.agents or self.is_member(user_id, policy.roles.agents):
            roles.add(Role.AGENT)
        else:
            rotas: list[str | None] = [s.on_call for s in policy.services]
            for team in policy.teams:
                rotas += [team.on_call, team.lead, *team.escalation_ladder]
            if self.is_member(user_id, rotas):
                roles.add(Role.RESPONDER)
        if self.is_member(user_id, policy.roles.security):
            roles.add(Role.SECURITY)
        return Actor(user_id, frozenset(roles))
