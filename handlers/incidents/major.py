"""Major incidents in Slack: declaring one (More → Declare major incident…, or at a major
priority), its own channel (name, topic, invitations, the mirrored summary), the role pickers,
Post update, `/incident timeline` and the "Add to timeline" message shortcut.

When Slack will not create the channel (name taken after a few tries, a missing scope, rate
limits) the incident carries on in the shared channel and its thread says why."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import thread_posts
from bot.payloads import clicked
from handlers.common import actor_of, later, open_checked_form, tell
from handlers.incidents import major_render, render
from handlers.incidents.buttons import IncidentButtons
from handlers.incidents.ids import Action, Field, More
from handlers.kind import Call, post_in_record_thread
from models.carried import RecordRef
from models.incident import Incident
from models.major_incident import MajorIncident, Role
from services import incident_timeline, incidents, major_incidents, records, security
from services.errors import InvalidInput, ServiceDeskError
from services.permissions import SYSTEM, Actor, require_agent

log = logging.getLogger(__name__)

# Names tried after a clash: inc-42-title, inc-42-title-2, … -5.
NAME_ATTEMPTS = 5


class IncidentMajor(IncidentButtons):
    # ---- declaring ------------------------------------------------------------------------

    def on_more(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """More → Declare major incident… opens the form; the other choices as before."""
        chosen = clicked(body).selected_option
        choice, _, key = (chosen.value if chosen else "").partition("|")
        if choice != More.MAJOR:
            super().on_more(ack, body, client, respond)
            return
        ack()
        later(self.ctx, self.open_declare, body, respond, key)

    def declare_if_major_priority(self, incident: Incident) -> None:
        """Called once the incident's message is posted: at a major priority the bot declares
        it itself (no statement at all for other priorities)."""
        if not major_incidents.is_major_priority(self.ctx.policy, incident.priority):
            return
        try:
            with self.ctx.db.session() as session:
                _, created = major_incidents.declare(
                    session,
                    key=incident.key,
                    reason="",
                    actor=SYSTEM,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
        except ServiceDeskError as error:
            log.info("%s not declared major: %s", incident.key, error)
            return
        if created:
            self.open_channel(incident.key)

    def open_declare(self, body: dict[str, Any], respond: Respond, key: str) -> None:
        def check(_session: Any, actor: Actor) -> None:
            require_agent(actor, doing="declare a major incident")

        self._open_form(body, respond, key, check, major_render.declare_modal)

    def _open_form(
        self,
        body: dict[str, Any],
        respond: Respond,
        key: str,
        check: Callable[[Any, Actor], None],
        build: Callable[[Incident, RecordRef], dict[str, Any]],
    ) -> None:
        """Open a major-incident form once `check(session, actor)` lets this person."""
        actor = actor_of(self.ctx, body)

        def load(session: Any) -> Incident:
            check(session, actor)
            found = incidents.get(session, key=key)
            security.require_visible(found, actor)
            return found

        open_checked_form(
            self.ctx,
            body,
            respond,
            load,
            lambda incident: build(incident, RecordRef(key=incident.key)),
        )

    def on_declare_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            _, created = major_incidents.declare(
                s,
                key=key,
                reason=values.get(Field.REASON) or "",
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            )
            return incidents.get(s, key=key) if created else None  # type: ignore[return-value]

        done = self._submit_step(ack, body, view, apply, error_field=Field.REASON)
        if done and done[0] is not None:
            later(self.ctx, self.open_channel, done[0].key)

    # ---- the dedicated channel -------------------------------------------------------------

    def open_channel(self, key: str) -> None:
        """Create the incident's channel (once), set its topic, invite its people, post the
        summary there and link it from the incidents channel's message."""
        with self.ctx.db.session() as session:
            if not major_incidents.claim_channel(session, key=key, now=self.ctx.clock.now()):
                return
            incident = incidents.get(session, key=key)
            major = major_incidents.get(session, key=key)
        channel, name, error = self._create_channel(incident)
        with self.ctx.db.session() as session:
            major = major_incidents.record_channel(
                session, key=key, channel_id=channel, name=name, error=error
            )
        self.refresh(key, step=major_render.declared_text(incident, major))
        if channel is None:
            post_in_record_thread(
                self.ctx,
                incidents.KIND,
                key,
                major_render.channel_failed_text(incident, error or ""),
            )
            self._post_summary(key, incident.channel_id, thread=incident.message_ts)
            return
        self._call("conversations_setTopic", channel=channel, topic=major_render.topic(incident))
        self._invite(channel, self._people(incident, major))
        self._post_summary(key, channel)

    def _create_channel(self, incident: Incident) -> tuple[str | None, str | None, str | None]:
        prefix = self.ctx.policy.major_incidents.channel_prefix
        error = "name_taken"
        # A restricted incident's channel is private and its name leaves the title out.
        title = security.RESTRICTED if incident.restricted else incident.title
        private = {"is_private": True} if incident.restricted else {}
        for attempt in range(1, NAME_ATTEMPTS + 1):
            name = major_incidents.channel_name(incident.key, title, prefix=prefix, attempt=attempt)
            try:
                created = self.ctx.client.conversations_create(name=name, **private)
            except SlackApiError as failure:
                error = str(failure.response.get("error") or "refused")
                if error == "name_taken":
                    continue
                break
            except OSError:
                # Slack unreachable after the client's retries: carry on in the shared channel.
                error = "Slack could not be reached"
                break
            return created["channel"]["id"], created["channel"].get("name", name), None
        log.warning("no channel for %s: %s", incident.key, error)
        return None, None, error

    def _people(self, incident: Incident, major: MajorIncident) -> list[str]:
        """Reporter, assignee, commander, the team's on-call and lead (groups expanded)."""
        team = self.ctx.policy.team(incident.team)
        service = self.ctx.policy.service(incident.service)
        refs = [incident.reporter, incident.assignee, major.commander, major.declared_by]
        if incident.restricted:
            # Only the people working it and the security team (not the team's rota).
            refs = [r for r in refs if r in security.working(incident)]
            refs += security.recipients(self.ctx.policy)
        else:
            if service is not None:
                refs.append(service.on_call)
            if team is not None:
                refs += [team.on_call, team.lead]
        people = [r for r in refs if r and r.startswith("S") or records.is_person(r)]
        return [u for u in self.ctx.directory.expand(people) if records.is_person(u)]

    def _invite(self, channel: str, people: list[str]) -> None:
        if not people:
            return
        if self._call("conversations_invite", channel=channel, users=",".join(people)):
            return
        # One refusal (a deactivated account) fails the whole call: invite one by one.
        for person in people:
            self._call("conversations_invite", channel=channel, users=person)

    def _call(self, method: str, **args: Any) -> bool:
        try:
            getattr(self.ctx.client, method)(**args)
        except SlackApiError as error:
            log.warning("%s refused: %s", method, error.response.get("error"))
            return False
        return True

    def _post_summary(self, key: str, channel: str | None, *, thread: str | None = None) -> None:
        if not channel:
            return
        text, blocks = self._summary(key)
        if thread:
            # In the incident's thread: kept with its other thread posts (redacted with them).
            thread_posts.post(self.ctx, key, channel, text, thread_ts=thread, blocks=blocks)
            return
        posted = self.ctx.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        if not thread:
            with self.ctx.db.session() as session:
                major_incidents.record_summary(session, key=key, ts=posted["ts"])

    def _summary(self, key: str) -> tuple[str, list[Any]]:
        with self.ctx.db.session() as session:
            incident = incidents.get(session, key=key)
            major = major_incidents.get(session, key=key)
            live = render.message_blocks(
                incident, self._sla(session, incident), **self._extras(session, incident)
            )
        return major_render.summary_text(incident), major_render.summary_blocks(
            incident, major, live
        )

    def refresh_summary(self, key: str) -> None:
        """The mirrored summary in the incident's channel follows the incident."""
        with self.ctx.db.session() as session:
            major = major_incidents.find(session, key=key)
        if major is None or not major.channel_id or not major.summary_ts:
            return
        if major.channel_redacted:
            return  # it shows the restricted placeholder until the restriction is lifted
        text, blocks = self._summary(key)
        try:
            self.ctx.client.chat_update(
                channel=major.channel_id, ts=major.summary_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            log.warning("summary of %s not updated: %s", key, error.response.get("error"))

    def say_in_major(self, key: str, text: str) -> None:
        """Post in the incident's own channel, or in its thread when it has none."""
        with self.ctx.db.session() as session:
            major = major_incidents.find(session, key=key)
        if major is not None and major.channel_id and not major.channel_redacted:
            try:
                thread_posts.post(self.ctx, key, major.channel_id, text)
            except SlackApiError as error:
                log.warning("not said in %s's channel: %s", key, error.response.get("error"))
        else:
            # No channel, or one redacted while the incident is restricted: its thread.
            post_in_record_thread(self.ctx, incidents.KIND, key, text)

    # ---- restricting a major incident ------------------------------------------------------

    def restriction_changed(self, key: str, restricted: bool) -> None:
        """Its own channel follows the restriction: restricted, the channel takes a neutral
        name (from the key only) and topic, its summary becomes the restricted placeholder and
        the summary with its controls is posted in the incident's thread in the security team's
        channel, where the work carries on; lifted, the proper name, topic and summary return.
        What Slack refuses is said in the incident's thread."""
        from handlers.reviews import ReviewHandlers
        from services import reviews

        with self.ctx.db.session() as session:
            major = major_incidents.find(session, key=key)
            incident = incidents.get(session, key=key)
            review = reviews.find_for(session, incident_key=key)
        if review is not None:
            # Its review's message redacts itself outside the security channel (or shows again).
            ReviewHandlers(self.ctx).refresh(review.key)
        if major is None or not major.channel_id:
            return
        title = security.RESTRICTED if restricted else incident.title
        name, error = self._rename(key, major.channel_id, title, current=major.channel_name)
        if error:
            post_in_record_thread(
                self.ctx,
                incidents.KIND,
                key,
                major_render.rename_failed_text(key, major.channel_id, error, restricted),
            )
        topic = major_render.restricted_topic(key) if restricted else major_render.topic(incident)
        topic_error = self._try("conversations_setTopic", channel=major.channel_id, topic=topic)
        if topic_error:
            post_in_record_thread(
                self.ctx,
                incidents.KIND,
                key,
                major_render.topic_failed_text(key, major.channel_id, topic_error, restricted),
            )
        with self.ctx.db.session() as session:
            major_incidents.record_name(session, key=key, name=name, redacted=restricted)
        if restricted:
            if major.summary_ts:
                text, blocks = major_render.redacted_summary(key)
                self._try(
                    "chat_update",
                    channel=major.channel_id,
                    ts=major.summary_ts,
                    text=text,
                    blocks=blocks,
                )
            try:
                self._post_summary(key, incident.channel_id, thread=incident.message_ts)
            except SlackApiError as failure:
                log.warning("summary of %s not posted: %s", key, failure.response.get("error"))
        else:
            self.refresh_summary(key)

    def _rename(
        self, key: str, channel: str, title: str, *, current: str | None
    ) -> tuple[str | None, str | None]:
        """conversations.rename to the name for `title`, trying `-2`, `-3`, … on a clash
        (none when it is named so already): (the new name, None) or (None, Slack's refusal)."""
        prefix = self.ctx.policy.major_incidents.channel_prefix
        error = "name_taken"
        for attempt in range(1, NAME_ATTEMPTS + 1):
            name = major_incidents.channel_name(key, title, prefix=prefix, attempt=attempt)
            if name == current:
                return name, None
            try:
                renamed = self.ctx.client.conversations_rename(channel=channel, name=name)
            except SlackApiError as failure:
                error = str(failure.response.get("error") or "refused")
                if error == "name_taken":
                    continue
                break
            except OSError:
                error = "Slack could not be reached"
                break
            return str((renamed.get("channel") or {}).get("name") or name), None
        log.warning("channel of %s not renamed: %s", key, error)
        return None, error

    def _try(self, method: str, **args: Any) -> str | None:
        """Call Slack; its refusal (or unreachability) as a short code, None when it worked."""
        try:
            getattr(self.ctx.client, method)(**args)
        except SlackApiError as error:
            log.warning("%s refused: %s", method, error.response.get("error"))
            return str(error.response.get("error") or "refused")
        except OSError:
            return "Slack could not be reached"
        return None

    def after_major_resolved(self, key: str) -> None:
        """The review (PIR-n) opened with the resolution is posted and its owner told."""
        from handlers.reviews import ReviewHandlers

        ReviewHandlers(self.ctx).announce_review(key)

    # ---- roles and status updates ----------------------------------------------------------

    def _set_role(self, body: dict[str, Any], respond: Respond) -> None:
        action = body["actions"][0]
        role = Role.COMMANDER if action.get("action_id") == Action.COMMANDER else Role.COMMS_LEAD
        key = self._key_from(body)
        if key is None:
            tell(respond, "That menu is from an old message; use `/incident show` instead.")
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                _, changed = major_incidents.set_role(
                    session,
                    key=key,
                    role=role,
                    user=str(action.get("selected_user") or ""),
                    actor=actor,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        if changed:
            user = str(action.get("selected_user"))
            self.say_in_major(key, major_render.role_text(role, user, actor.user_id))
            self.refresh_summary(key)

    def _open_update(self, body: dict[str, Any], respond: Respond) -> None:
        key = self._key_from(body)
        if key is None:
            return

        def check(session: Any, actor: Actor) -> None:
            major_incidents.check_may_update(session, key=key, actor=actor)

        self._open_form(body, respond, key, check, major_render.update_modal)

    def on_update_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        result: dict[str, Any] = {}

        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            update = major_incidents.post_update(
                s,
                key=key,
                status=values.get(Field.UPDATE_STATUS) or "",
                impact=values.get(Field.UPDATE_IMPACT) or "",
                next_steps=values.get(Field.UPDATE_NEXT) or "",
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            )
            result["update"] = update
            return update.incident

        done = self._submit_step(ack, body, view, apply, error_field=Field.UPDATE_STATUS)
        if done:
            later(self.ctx, self._send_update, result["update"])

    def _send_update(self, update: major_incidents.StatusUpdate) -> None:
        """To the incident's channel (or thread), the stakeholders channel and the affected
        customers' contacts; one refusal does not stop the others."""
        text = major_render.update_text(update.incident, update.entry)
        self.say_in_major(update.incident.key, text)
        for recipient in update.recipients:
            # A customer's contact may be a user group: each member is told.
            people = (
                self.ctx.directory.expand([recipient]) if recipient.startswith("S") else [recipient]
            )
            for person in people:
                self._call("chat_postMessage", channel=person, text=text)
        self.refresh_summary(update.incident.key)

    # ---- the timeline ----------------------------------------------------------------------

    def on_timeline(self, call: Call) -> None:
        if not call.args:
            tell(call.respond, "Which incident? For example `/incident timeline INC-42`.")
            return
        try:
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=call.args[0])
                security.require_visible(incident, actor_of(self.ctx, call.body))
                moments = incident_timeline.timeline(session, key=incident.key)
        except ServiceDeskError as error:
            tell(call.respond, str(error))
            return
        call.respond(
            text=f"Timeline of {incident.key}",
            blocks=major_render.timeline_blocks(incident, moments),
            response_type="ephemeral",
        )

    def _add_to_timeline(self, body: dict[str, Any], respond: Respond) -> None:
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        ts = str(message.get("ts") or body.get("message_ts") or "")
        try:
            with self.ctx.db.session() as session:
                major = (
                    major_incidents.for_channel(session, channel_id=channel) if channel else None
                )
                if major is None or not ts:
                    raise InvalidInput(
                        "Add to timeline works on messages in a major incident's own channel."
                    )
                added = incident_timeline.mark(
                    session,
                    key=major.incident_key,
                    text=str(message.get("text") or ""),
                    author=message.get("user"),
                    source_ts=ts,
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                )
                key = major.incident_key
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        tell(respond, major_render.marked_text(key, added))
