"""What `/servicedesk capacity` and the capacity lines of `/ci show` show: one place for the
wording. Items, metrics, units and plan names come from the policy file and are escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.blocks import Block, actions, button, header, line_sections, slack_time
from handlers import record_blocks as rb
from models.capacity import Level
from models.sms import SmsItem, SmsItemKind, SmsReviewRef
from models.sms_policy import CapacityPlan
from services.capacity_standing import CapacityRow
from services.mrkdwn import link, mention, user_text
from services.sms_reviews import RECORD_REVIEW_ACTION_ID

NO_REQUIREMENTS = (
    "No capacity requirements are set. Add `[[capacity]]` entries to the policy file (item, "
    "metric, unit, warning, critical): see the README, section Capacity."
)
BUTTONS_MAX = 25

_MARK = {
    Level.OK: ":large_green_circle:",
    Level.WARNING: ":warning:",
    Level.CRITICAL: ":rotating_light:",
}


def _amount(row: CapacityRow, value: float) -> str:
    unit = row.requirement.unit
    gap = " " if unit and unit != "%" else ""
    return user_text(f"{value:g}{gap}{unit}")


def row_line(row: CapacityRow) -> str:
    """One requirement: latest value and level, thresholds, forecast, owner."""
    required = row.requirement
    name = f"*{user_text(required.item)}* {user_text(required.metric)}"
    if row.level is None or row.latest_value is None:
        now = "_nothing measured yet_"
    else:
        now = (
            f"*{_amount(row, row.latest_value)}* {_MARK[row.level]} {row.level.value} "
            f"({slack_time(row.latest_at)})"
        )
    worse = "≥" if required.direction == "up" else "≤"
    limits = (
        f"warning {worse} {_amount(row, required.warning)}, "
        f"critical {worse} {_amount(row, required.critical)}"
    )
    if row.forecast_at is None:
        ahead = "no trend towards critical"
    else:
        mark = " :crystal_ball:" if row.forecast_inside else ""
        ahead = f"trend reaches critical {slack_time(row.forecast_at)}{mark}"
    owner = mention(row.owner, nobody="no owner")
    return f"• {name}: {now} — {limits}; {ahead} — {owner}"


def item_lines(rows: Sequence[CapacityRow]) -> list[str]:
    """The capacity lines of an item's card (`/ci show`); none when nothing is required."""
    if not rows:
        return []
    return ["*Capacity*", *(row_line(row) for row in rows)]


def _plan_line(plan: CapacityPlan, row: SmsItem | None, today: date) -> str:
    name = link(plan.link, plan.name) if plan.link else user_text(plan.name)
    version = row.version if row is not None and row.version else plan.version
    if row is None or row.next_review is None:
        when = "no review planned"
    else:
        late = " *(overdue)*" if row.next_review < today else ""
        when = f"next review {rb.day(row.next_review)}{late}"
    return f"• *{name}* version {user_text(version)} — {mention(plan.owner)}, {when}"


def capacity_blocks(
    rows: Sequence[CapacityRow],
    plans: Sequence[CapacityPlan],
    reviews: dict[str, SmsItem],
    today: date,
    item: str | None = None,
) -> list[Block]:
    """Every requirement (or one item's) with where it stands, then the capacity plans with
    their next review and a Record review button for each one due."""
    title = f"Capacity — {item}" if item else "Capacity"
    lines = [row_line(row) for row in rows] or ["_No requirement for that item._"]
    blocks: list[Block] = [header(title[:150]), *line_sections(lines)]
    if item is None:
        blocks += line_sections(
            [
                "*Capacity plans*",
                *(
                    [_plan_line(p, reviews.get(p.name), today) for p in plans]
                    or ["_None in `[[sms.capacity_plans]]`._"]
                ),
            ]
        )
        due = [
            p.name
            for p in plans
            if (r := reviews.get(p.name)) is not None
            and r.next_review is not None
            and r.next_review <= today
        ]
        buttons = actions(
            "capacity_plan_review",
            [
                button(
                    f"Record review: {name}"[:75],
                    RECORD_REVIEW_ACTION_ID,
                    SmsReviewRef(kind=SmsItemKind.CAPACITY_PLAN, name=name).dump(),
                )
                for name in due[:BUTTONS_MAX]
            ],
        )
        if buttons:
            blocks.append(buttons)
    return blocks


def capacity_fallback(rows: Sequence[CapacityRow]) -> str:
    counts = {level: sum(1 for r in rows if r.level is level) for level in Level}
    ahead = sum(1 for r in rows if r.forecast_inside)
    return (
        f"Capacity: {len(rows)} requirement(s); {counts[Level.CRITICAL]} critical, "
        f"{counts[Level.WARNING]} warning, {ahead} forecast to reach critical within the horizon."
    )
