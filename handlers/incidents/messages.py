"""The incident's Slack presence: its one channel message, kept up to date, its thread, and
the direct messages it sends. Shared by the command, form and button listeners."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import thread_posts
from handlers.common import claim_owner, message_lock, post_claimed_message, rendered
from handlers.incidents import major_render, render
from handlers.kind import KindHandlers
from handlers.problems import render as problem_render
from models.incident import Incident
from services import (
    cmdb,
    incident_sla,
    incidents,
    links,
    major_incidents,
    paging,
    problems,
    records,
    security,
)
from services.mrkdwn import link, user_text

log = logging.getLogger(__name__)


class IncidentMessages(KindHandlers):
    command = "/incident"
    kind = incidents.KIND

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.incidents

    def _extras(self, session: Any, incident: Incident) -> dict[str, list[str]]:
        """What the message adds beyond the incident itself: the services its items affect and
        a known error's workaround."""
        items = links.linked(session, key=incident.key, kind=cmdb.ITEM_LINK)
        affects: list[str] = []
        for item in items:
            for service in cmdb.affected_services(session, key=item):
                if service.name not in affects:
                    affects.append(service.name)
        known = problems.known_error_for(session, service=incident.service)
        for item in items:
            known = known or problems.known_error_for(session, item=item)
        notes = [problem_render.known_error_note(known)] if known else []
        if incident.is_major:
            major = major_incidents.find(session, key=incident.key)
            if major is not None:
                notes.insert(0, major_render.channel_note(major))
        return {"affects": affects, "notes": notes}

    # Major incidents (handlers/incidents/major.py) fill these in.
    def declare_if_major_priority(self, incident: Incident) -> None:
        """After an incident's message is posted: declare it major at a major priority."""

    def after_major_resolved(self, key: str) -> None:
        """After a major incident is resolved: its review (PIR-n) is announced."""

    def refresh_summary(self, key: str) -> None:
        """After the message is refreshed: a major incident's summary follows it."""

    def announce(self, key: str) -> None:
        """Post the incident's one channel message, page on-call for P1, tell the reporter.

        Runs after the ack, beside the next requests: the write transaction (holding SQLite's
        write lock) is only the claim and the page; rendering reads in a read-only one, and
        the notifier is woken only when a page was queued."""
        client = self.ctx.client
        with self.ctx.db.session() as session:
            # A restricted incident is announced only in the security team's channel.
            incident = incidents.get(session, key=key)
            channel = security.channel_for(incident, self.ctx.policy)
            claim = incidents.claim_announcement(
                session, key=key, channel_id=channel, now=self.ctx.clock.now(), owner=claim_owner()
            )
            if claim is None:
                return
            # The claim wrote only where the message goes: priority and team are as read.
            page = None
            team = security.paging_team(incident)
            if incident.priority in self.ctx.policy.incidents.page_priorities and team:
                # The page goes into the outbox before anything is posted, so a Slack outage
                # delays it rather than losing it; the ladder's later rungs follow if nobody
                # acknowledges. A restricted incident pages the security team.
                page = paging.start(
                    session,
                    record_key=incident.key,
                    team=team,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
        with self.ctx.db.read_session() as session:
            incident = incidents.get(session, key=key)
            version = incident.message_version
            sla = self._sla(session, incident)
            extras = self._extras(session, incident)
            # A trend proposal would name a restricted incident in the shared channel.
            trend = not incident.restricted and problems.trend_possible(
                session, incident_key=key, now=self.ctx.clock.now(), policy=self.ctx.policy
            )
            session.expunge(incident)  # kept as read: a read session ends in a rollback
        if page is not None:
            self.ctx.notifier.send_due()
        posted = post_claimed_message(
            self.ctx,
            incidents,
            key=key,
            channel=channel,
            text=render.fallback_text(incident),
            blocks=render.message_blocks(incident, sla, **extras),
            claim=claim,
            version=version,
            refresh=lambda: self.refresh(key),
        )
        thread_posts.post(
            self.ctx, key, posted["channel"], render.created_text(incident), thread_ts=posted["ts"]
        )
        if records.is_person(incident.reporter):
            permalink = self._permalink(posted["channel"], posted["ts"])
            client.chat_postMessage(
                channel=incident.reporter,
                text=f"You logged {incident.key}: {user_text(incident.title)}."
                + (f" {link(permalink, 'See its message.')}" if permalink else ""),
            )
        if trend:
            self._propose_problem(key)
        self.declare_if_major_priority(incident)

    def _propose_problem(self, key: str) -> None:
        """Repeated incidents on one service or item (trend_possible said so while the message
        was rendered): offer to raise a problem, once."""
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            finding = problems.detect_trend(
                session, incident_key=key, now=now, policy=self.ctx.policy
            )
        if finding is None:
            return
        self.ctx.client.chat_postMessage(
            channel=self.ctx.policy.channels.incidents,
            text=problem_render.proposal_text(finding),
            blocks=problem_render.proposal_blocks(finding),
        )

    # ---- buttons that act at once ------------------------------------------------------------

    def _sla(self, session: Any, incident: Incident) -> incident_sla.IncidentSla:
        return incident_sla.evaluate(
            session, incident=incident, policy=self.ctx.policy, now=self.ctx.clock.now()
        )

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """Update the incident's channel message in place and post the step in its thread."""
        with message_lock(self.ctx, incidents.KIND, key):
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=key)
                version = incident.message_version
                sla = self._sla(session, incident)
                extras = self._extras(session, incident)
            if not incident.channel_id or not incident.message_ts:
                # Not posted yet (or its poster is still waiting for Slack): the record stays
                # stale and the message is brought up to date once its ts is known.
                return None, None
            self.ctx.client.chat_update(
                channel=incident.channel_id,
                ts=incident.message_ts,
                text=render.fallback_text(incident),
                blocks=render.message_blocks(incident, sla, **extras),
            )
            rendered(self.ctx, incidents.KIND, key=key, version=version)
        if incident.is_major:
            self.refresh_summary(key)
        if step:
            thread_posts.post(
                self.ctx, key, incident.channel_id, step, thread_ts=incident.message_ts
            )
        return incident.channel_id, incident.message_ts

    def move_message(self, moved: security.Moved, step: str) -> None:
        """After the incident was restricted or released: the message it leaves is redacted
        (or, released, told where it went on), and it is shown where it now belongs, either
        a new message or (released) the redacted one in the shared channel revealed again."""
        key = moved.incident.key
        if moved.old_channel and moved.old_ts:
            text, blocks = (
                render.redacted_message(key)
                if moved.restricted
                else (render.moved_on_text(key), [])
            )
            self.ctx.client.chat_update(
                channel=moved.old_channel, ts=moved.old_ts, text=text, blocks=blocks
            )
        if moved.revealed:
            self.refresh(key, step=step)
        else:
            self.announce(key)
            self.post_in_thread(key, step)
        # What the bot said about it elsewhere follows: its thread posts and its own channel.
        if moved.restricted:
            text, blocks = render.redacted_message(key)
            _, refused = thread_posts.redact(self.ctx, key, text, blocks)
        else:
            _, refused = thread_posts.restore(self.ctx, key)
        if refused:
            self.post_in_thread(key, render.posts_refused_text(key, refused, moved.restricted))
        self.restriction_changed(key, moved.restricted)

    def restriction_changed(self, key: str, restricted: bool) -> None:
        """After the restriction moved: a major incident's channel follows (major.py)."""

    def _dm(self, users: list[str], text: str, incident: Incident, permalink: str | None) -> None:
        for user in users:
            try:
                self.ctx.client.chat_postMessage(
                    channel=user,
                    text=text,
                    blocks=render.dm_blocks(text, incident, permalink=permalink),
                )
            except SlackApiError as error:
                log.error("could not message %s: %s", user, error.response.get("error"))

    def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            return self.ctx.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except SlackApiError:
            return None
