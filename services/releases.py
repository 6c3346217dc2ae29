"""Release management: plan, build, test (the gate), schedule, deploy, roll back, close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.change import Change, ChangeStatus
from models.incident import Incident, IncidentInput, Level
from models.policy import Policy
from models.release import KEY_PREFIX, Release, ReleaseChange, ReleaseStatus, ReleaseTest
from services import audit, change_plan, changes, cmdb, incidents, links, rows
from services.change_plan import Reminder
from services.errors import FieldError, InvalidInput, NotAllowed, NotFound
from services.lifecycle import Lifecycle, Rule
from services.permissions import Actor, require_agent, require_agent_or
from services.records import RecordKind

S = ReleaseStatus
BUNDLEABLE = (ChangeStatus.APPROVED, ChangeStatus.SCHEDULED)


def _manager(doing: str) -> Rule:
    """The release manager, or an agent, may make this move."""

    def rule(actor: Actor, release: Release) -> None:
        require_agent_or(
            actor, user_ids={release.release_manager}, doing=doing, who="the release manager"
        )

    return rule


LIFECYCLE = Lifecycle(
    "release",
    {
        # A rebuild after a failed test, or of a scheduled release that must change again.
        "build": ([S.PLANNED, S.TESTED, S.SCHEDULED], S.BUILT),
        "test": ([S.BUILT, S.TESTED], S.TESTED),
        "schedule": ([S.TESTED, S.SCHEDULED], S.SCHEDULED),
        "deploy": ([S.SCHEDULED], S.DEPLOYING),
        "deployed": ([S.DEPLOYING], S.DEPLOYED),
        "failed": ([S.DEPLOYING], S.FAILED),
        "roll_back": ([S.FAILED], S.ROLLED_BACK),
        "close": ([S.DEPLOYED, S.ROLLED_BACK], S.CLOSED),
        "cancel": ([S.PLANNED, S.BUILT, S.TESTED, S.SCHEDULED], S.CANCELLED),
    },
    final=[S.CLOSED, S.CANCELLED],
    label=lambda state: ReleaseStatus(state).label,
    action_label={
        "build": "marked built",
        "test": "tested",
        "schedule": "scheduled",
        "deploy": "deployed",
        "deployed": "marked deployed",
        "failed": "marked failed",
        "roll_back": "rolled back",
        "close": "closed",
        "cancel": "cancelled",
    },
    who={
        "build": _manager("mark a release built"),
        "test": _manager("record a release's test result"),
        "schedule": _manager("schedule a release"),
        "deploy": _manager("deploy a release"),
        "deployed": _manager("record a deployment's outcome"),
        "failed": _manager("record a deployment's outcome"),
        "roll_back": _manager("record a rollback"),
        "close": _manager("close a release"),
        "cancel": _manager("cancel a release"),
    },
)


KIND = RecordKind(Release, KEY_PREFIX, "release", "REL-2", LIFECYCLE)
# Reading by key and the announce sweep's list come from the kind.
parse_key, unannounced, get = KIND.parse_key, KIND.unannounced, KIND.get


def bundled_changes(session: Session, *, key: str) -> list[Change]:
    """The changes the release bundles, in key order."""
    statement = (
        select(Change)
        .join(ReleaseChange, col(ReleaseChange.change_id) == col(Change.id))
        .where(ReleaseChange.release_id == parse_key(key))
        .order_by(col(Change.id))
    )
    return list(session.exec(statement))


def targets(session: Session, *, key: str) -> list[str]:
    """The services and items the release touches: those of the changes it bundles."""
    names = {
        t
        for change in bundled_changes(session, key=key)
        for t in changes.targets(session, key=change.key)
    }
    return sorted(names, key=str.lower)


def tests(session: Session, *, key: str) -> list[ReleaseTest]:
    """Every recorded test run of the release, oldest first."""
    statement = (
        select(ReleaseTest)
        .where(ReleaseTest.release_id == parse_key(key))
        .order_by(col(ReleaseTest.recorded_at), col(ReleaseTest.id))
    )
    return list(session.exec(statement))


def list_releases(
    session: Session,
    *,
    status: ReleaseStatus | str | None = None,
    mine: str | None = None,
    limit: int = 25,
) -> list[Release]:
    """Releases, newest first; optionally in one status or managed by `mine`."""
    statement = select(Release)
    if status is not None:
        statement = statement.where(Release.status == ReleaseStatus(status).value)
    if mine is not None:
        statement = statement.where(Release.release_manager == mine)
    statement = statement.order_by(col(Release.created_at).desc(), col(Release.id).desc())
    return list(session.exec(statement.limit(limit)))


def find_by_submission(session: Session, *, submission_id: str) -> Release | None:
    """The release a Slack form submission created, if any."""
    return session.exec(select(Release).where(Release.submission_id == submission_id)).first()


def _check_window(start: datetime | None, end: datetime | None, *, now: datetime) -> None:
    if start is None and end is None:
        return
    if start is None:
        raise FieldError("window_start", "Give the deployment window's start.")
    if end is None:
        raise FieldError("window_end", "Give the deployment window's end.")
    if end <= start:
        raise FieldError("window_end", "The deployment window must end after it starts.")
    if start < now:
        raise FieldError("window_start", "The deployment window starts in the past.")


def create(
    session: Session,
    *,
    name: str,
    version: str,
    change_keys: list[str],
    release_manager: str,
    release_plan: str,
    backout_plan: str,
    actor: Actor,
    now: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    submission_id: str | None = None,
) -> Release:
    """Plan a release bundling approved (or scheduled) changes. Bad fields raise FieldError.
    A second call with the same `submission_id` returns the release the first created.
    Only agents plan releases."""
    require_agent(actor, doing="plan releases")
    by = actor.user_id
    if submission_id is not None:
        existing = find_by_submission(session, submission_id=submission_id)
        if existing is not None:
            return existing
    name = " ".join(name.split())
    version = version.strip()
    if not name:
        raise FieldError("name", "Give the release a name.")
    if not version:
        raise FieldError("version", "Give the release a version.")
    if not backout_plan.strip():
        raise FieldError("backout_plan", "Say how the release will be backed out if it fails.")
    _check_window(window_start, window_end, now=now)
    bundle: list[Change] = []
    for key in dict.fromkeys(k.strip().upper() for k in change_keys if k.strip()):
        try:
            change = changes.get(session, key=key)
        except (NotFound, InvalidInput) as error:
            raise FieldError("changes", str(error)) from None
        if change.state not in BUNDLEABLE:
            raise FieldError(
                "changes",
                f"{change.key} is {change.state.label}; a release bundles only approved or "
                "scheduled changes.",
            )
        bundle.append(change)
    release = Release(
        name=name,
        version=version,
        status=S.PLANNED.value,
        window_start=window_start,
        window_end=window_end,
        release_plan=release_plan.strip(),
        backout_plan=backout_plan.strip(),
        release_manager=release_manager,
        created_by=by,
        created_at=now,
        updated_at=now,
        submission_id=submission_id,
    )
    if not rows.add_once(session, release):
        existing = (
            find_by_submission(session, submission_id=submission_id) if submission_id else None
        )
        if existing is None:
            # The only unique key besides the id is the submission's; no database gets here.
            raise RuntimeError(f"release {name} {version} refused, yet no form stored it")
        return existing
    for change in bundle:
        session.add(ReleaseChange(release_id=release.id, change_id=change.id))
    audit.record(
        session,
        key=release.key,
        actor=by,
        at=now,
        action="created",
        field="status",
        after=S.PLANNED,
        note=f"{name} {version}; changes: " + (", ".join(c.key for c in bundle) or "none"),
    )
    for change in bundle:
        audit.record(
            session,
            key=change.key,
            actor=by,
            at=now,
            action="bundled",
            field="release",
            after=release.key,
        )
    # The release touches what its changes touch: link the configuration items, so that the
    # item's card lists the release.
    for name in sorted({t for c in bundle for t in changes.targets(session, key=c.key)}):
        item = cmdb.find_by_name(session, name=name)
        if item is not None:
            links.link(session, a=release.key, b=item.key, kind=cmdb.ITEM_LINK, actor=by, now=now)
    return release


def check_step(release: Release, action: str, actor: Actor) -> None:
    """Before a form for `action` opens: may this person move the release, and does the
    lifecycle allow it now?"""
    KIND.check_step(release, action, actor)


def build(session: Session, *, key: str, actor: Actor, now: datetime) -> Release:
    """Planned → Built; also a rebuild from Tested (after a failed test) or Scheduled (the
    release must change again), which then needs a new passed test before it can go out."""
    return KIND.step(session, key=key, action="build", actor=actor, now=now)


def record_test(
    session: Session, *, key: str, passed: bool, note: str, actor: Actor, now: datetime
) -> ReleaseTest:
    """Built → Tested, recording whether the tests passed, with a note. The latest result is the
    one that gates deployment."""
    release = get(session, key=key, for_update=True)
    LIFECYCLE.permit("test", release, actor)
    if not note.strip():
        raise FieldError("note", "Say in a sentence what was tested and how it went.")
    LIFECYCLE.move(session, release, "test", actor=actor, now=now)
    result = ReleaseTest(
        release_id=release.id,
        passed=passed,
        note=note.strip(),
        recorded_by=actor.user_id,
        recorded_at=now,
    )
    session.add(result)
    audit.record(
        session,
        key=release.key,
        actor=actor.user_id,
        at=now,
        action="test recorded",
        field="test",
        after="passed" if passed else "failed",
        note=note.strip(),
    )
    return result


def schedule(
    session: Session,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Release:
    """Tested → Scheduled in a deployment window (the planned one unless a new one is given);
    refused unless the latest test passed, so a scheduled release can always be deployed."""
    release = get(session, key=key, for_update=True)
    check_step(release, "schedule", actor)
    _require_passed_test(session, release, doing="scheduling")
    start = start or release.window_start
    end = end or release.window_end
    if start is None:
        raise FieldError("window_start", "Give the deployment window's start.")
    _check_window(start, end, now=now)
    LIFECYCLE.move(
        session,
        release,
        "schedule",
        actor=actor,
        now=now,
        note=f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
    )
    release.window_start, release.window_end = start, end
    return release


def deploy(session: Session, *, key: str, actor: Actor, now: datetime) -> Release:
    """Scheduled → Deploying; refused unless the latest test result passed."""
    release = get(session, key=key, for_update=True)
    LIFECYCLE.permit("deploy", release, actor)
    _require_passed_test(session, release, doing="deploying")
    LIFECYCLE.move(session, release, "deploy", actor=actor, now=now)
    return release


def _require_passed_test(session: Session, release: Release, *, doing: str) -> None:
    runs = tests(session, key=release.key)
    if not runs:
        raise NotAllowed(f"{release.key} has not been tested; record a passed test before {doing}.")
    if not runs[-1].passed:
        raise NotAllowed(
            f"{release.key}'s latest test failed; fix it, rebuild and record a passed test "
            f"before {doing}."
        )


def cancel(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str | None = None
) -> Release:
    """Planned, Built, Tested or Scheduled → Cancelled: the release will not go out. Its
    changes stay as they are, free to be bundled into another release."""
    return KIND.step(session, key=key, action="cancel", actor=actor, now=now, note=note)


@dataclass(frozen=True)
class DeploymentResult:
    """What the handler needs to report a deployment: on failure the backout plan to post, the
    incident opened for it and the changes affected."""

    release: Release
    succeeded: bool
    change_keys: tuple[str, ...]
    backout_plan: str | None = None
    incident: Incident | None = None


def finish_deployment(
    session: Session,
    *,
    key: str,
    succeeded: bool,
    note: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> DeploymentResult:
    """Deploying → Deployed (each bundled change moves to Review) or Failed (an incident is
    opened, linked to the release and its changes, and the backout plan returned to post)."""
    release = get(session, key=key, for_update=True)
    LIFECYCLE.permit("deployed", release, actor)
    if not succeeded and not note.strip():
        raise FieldError("note", "Say what failed in the deployment.")
    bundle = bundled_changes(session, key=release.key)
    change_keys = tuple(change.key for change in bundle)
    if succeeded:
        LIFECYCLE.move(
            session, release, "deployed", actor=actor, now=now, note=note.strip() or None
        )
        release.deployed_at = now
        for change in bundle:
            locked = changes.get(session, key=change.key, for_update=True)
            changes.move_to_review_by_release(
                session, change=locked, release_key=release.key, actor=actor.user_id, now=now
            )
        return DeploymentResult(release, True, change_keys)
    LIFECYCLE.move(session, release, "failed", actor=actor, now=now, note=note.strip())
    incident = _open_incident(
        session, release, bundle, note=note.strip(), actor=actor, now=now, policy=policy
    )
    return DeploymentResult(release, False, change_keys, release.backout_plan, incident)


def _open_incident(
    session: Session,
    release: Release,
    bundle: list[Change],
    *,
    note: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    service = None
    for change in bundle:
        for target in changes.targets(session, key=change.key):
            if policy.service(target) is not None:
                service = target
                break
        if service is not None:
            break
    category = "software" if "software" in policy.incidents.categories else None
    data = IncidentInput(
        title=f"Deployment of {release.name} {release.version} ({release.key}) failed",
        description=f"{note}\n\nBackout plan:\n{release.backout_plan}",
        impact=Level.MEDIUM,
        urgency=Level.HIGH,
        service=service,
        category=category,
    )
    incident, _ = incidents.create(
        session, data=data, reporter=actor.user_id, now=now, policy=policy
    )
    links.link(
        session, a=incident.key, b=release.key, kind="caused by", actor=actor.user_id, now=now
    )
    for change in bundle:
        links.link(
            session, a=incident.key, b=change.key, kind="caused by", actor=actor.user_id, now=now
        )
    return incident


def roll_back(session: Session, *, key: str, actor: Actor, now: datetime, note: str) -> Release:
    """Failed → Rolled back, once the backout plan has been carried out."""
    return KIND.step(
        session, key=key, action="roll_back", actor=actor, now=now, note=note.strip() or None
    )


def close(
    session: Session, *, key: str, actor: Actor, now: datetime, note: str | None = None
) -> Release:
    """Deployed or Rolled back → Closed."""
    return KIND.step(session, key=key, action="close", actor=actor, now=now, note=note)


def reminder_plan(release: Release, policy: Policy) -> list[Reminder]:
    """Reminders to the release manager before and at the start of the deployment window."""
    if release.window_start is None:
        return []
    if release.state not in (S.PLANNED, S.BUILT, S.TESTED, S.SCHEDULED):
        return []
    settings = policy.releases
    plan = [
        Reminder(
            f"before_start:{change_plan.duration_text(offset)}",
            release.window_start - offset,
            release.release_manager,
        )
        for offset in sorted(set(settings.before_start), reverse=True)
    ]
    if settings.at_start:
        plan.append(Reminder("at_start", release.window_start, release.release_manager))
    return plan


# Its one channel message: claimed by one poster, released if posting failed, then remembered.
claim_announcement = KIND.claim_announcement
release_announcement = KIND.release_announcement
record_message = KIND.record_message
