"""The SLA clock against hand-counted calendars: nights, weekends, bank holidays, DST, pauses."""

from __future__ import annotations

import time as perf
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.sla_policy import CalendarPolicy, SlaPolicy, parse_duration
from services.sla_clock import (
    BusinessCalendar,
    TwentyFourSeven,
    calendar_for,
    due_at,
    elapsed,
    evaluate,
    threshold_instant,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0


def local(zone: ZoneInfo, *parts: int) -> datetime:
    """A wall-clock time in ``zone`` handed over as UTC, the way every caller passes times."""
    return datetime(*parts, tzinfo=zone).astimezone(UTC)


@pytest.fixture
def london() -> BusinessCalendar:
    return BusinessCalendar.from_policy(
        CalendarPolicy(timezone="Europe/London", country="GB", subdivision="ENG")
    )


@pytest.fixture
def new_york() -> BusinessCalendar:
    return BusinessCalendar.from_policy(CalendarPolicy(timezone="America/New_York"))


P3_RESPONSE = SlaPolicy().clock_target(3, "response")
P3_RESOLUTION = SlaPolicy().clock_target(3, "resolution")


def test_p3_response_logged_friday_afternoon_is_due_monday_late_morning(london):
    friday = local(LONDON, 2026, 3, 13, 15)
    assert P3_RESPONSE == timedelta(hours=4)

    due = due_at(start=friday, target=P3_RESPONSE, calendar=london, pauses=[], now=friday)

    assert due == local(LONDON, 2026, 3, 16, 11)
    assert due.tzinfo is UTC


def test_bank_holidays_and_the_weekend_are_skipped(london):
    christmas_eve = local(LONDON, 2026, 12, 24, 16)

    response = due_at(
        start=christmas_eve, target=P3_RESPONSE, calendar=london, pauses=[], now=christmas_eve
    )
    resolution = due_at(
        start=christmas_eve, target=P3_RESOLUTION, calendar=london, pauses=[], now=christmas_eve
    )

    # 1 h on the 24th; the 25th, 26th, 27th and the 28th (Boxing Day observed) are closed.
    assert response == local(LONDON, 2026, 12, 29, 12)
    # 3 business days = 24 working hours: 1 + 8 (29th) + 8 (30th) + 7 (31st).
    assert resolution == local(LONDON, 2026, 12, 31, 16)
    reopening = local(LONDON, 2026, 12, 29, 9)
    assert london.working_seconds_between(christmas_eve, reopening) == HOUR
    assert not london.is_working_time(local(LONDON, 2026, 12, 28, 11))


def test_logged_at_night_the_clock_starts_at_opening(london):
    night = local(LONDON, 2026, 3, 17, 2)

    assert elapsed(start=night, now=local(LONDON, 2026, 3, 17, 9), calendar=london) == 0
    assert elapsed(start=night, now=local(LONDON, 2026, 3, 17, 10), calendar=london) == HOUR
    assert london.add_working_time(night, 0) == local(LONDON, 2026, 3, 17, 9)
    due = due_at(start=night, target=P3_RESPONSE, calendar=london, pauses=[], now=night)
    assert due == local(LONDON, 2026, 3, 17, 13)


def test_a_pause_shifts_the_deadline_by_exactly_the_working_time_paused(london):
    start = local(LONDON, 2026, 3, 16, 15)  # Monday
    # On hold from 16:00 Monday to 10:00 Tuesday: 1 working hour each side of the night.
    pause = (local(LONDON, 2026, 3, 16, 16), local(LONDON, 2026, 3, 17, 10))
    now = local(LONDON, 2026, 3, 17, 10)

    without = due_at(start=start, target=P3_RESPONSE, calendar=london, pauses=[], now=now)
    with_pause = due_at(start=start, target=P3_RESPONSE, calendar=london, pauses=[pause], now=now)

    assert without == local(LONDON, 2026, 3, 17, 11)
    assert with_pause == local(LONDON, 2026, 3, 17, 13)
    assert elapsed(start=start, now=now, calendar=london, pauses=[pause]) == HOUR


def test_a_pause_outside_working_hours_changes_nothing_on_the_business_clock(london):
    start = local(LONDON, 2026, 3, 16, 15)
    evening_pause = (local(LONDON, 2026, 3, 16, 18), local(LONDON, 2026, 3, 17, 8, 30))
    now = local(LONDON, 2026, 3, 17, 10)

    plain = evaluate(start=start, target=P3_RESPONSE, calendar=london, pauses=[], now=now)
    paused = evaluate(
        start=start, target=P3_RESPONSE, calendar=london, pauses=[evening_pause], now=now
    )

    assert paused == plain
    assert plain.elapsed == timedelta(hours=3)


def test_overlapping_pauses_are_not_subtracted_twice(london):
    start = local(LONDON, 2026, 3, 16, 9)
    pauses = [
        (local(LONDON, 2026, 3, 16, 10), local(LONDON, 2026, 3, 16, 11)),
        (local(LONDON, 2026, 3, 16, 10, 30), local(LONDON, 2026, 3, 16, 11, 30)),
        (local(LONDON, 2026, 3, 16, 10, 45), local(LONDON, 2026, 3, 16, 11)),
    ]
    now = local(LONDON, 2026, 3, 16, 12)

    assert elapsed(start=start, now=now, calendar=london, pauses=pauses) == 1.5 * HOUR
    due = due_at(start=start, target=P3_RESPONSE, calendar=london, pauses=pauses, now=now)
    assert due == local(LONDON, 2026, 3, 16, 14, 30)


def test_while_on_hold_there_is_no_deadline_but_the_remaining_time_is_known(london):
    start = local(LONDON, 2026, 3, 16, 9)
    open_pause = (local(LONDON, 2026, 3, 16, 10), None)
    now = local(LONDON, 2026, 3, 16, 15)

    state = evaluate(start=start, target=P3_RESPONSE, calendar=london, pauses=[open_pause], now=now)

    assert state.paused and not state.stopped
    assert state.due_at is None
    assert state.elapsed == timedelta(hours=1)
    assert state.remaining == timedelta(hours=3)
    assert state.met is None
    assert (
        threshold_instant(
            start=start, target=P3_RESPONSE, calendar=london, pauses=[open_pause], percent=50
        )
        is None
    )


def test_a_one_minute_target_on_the_24x7_clock():
    clock = TwentyFourSeven()
    target = parse_duration("1m")
    start = datetime(2026, 3, 14, 3, 0, tzinfo=UTC)  # a Saturday night: irrelevant on 24x7

    half = evaluate(start=start, target=target, calendar=clock, now=start + timedelta(seconds=30))
    late = evaluate(start=start, target=target, calendar=clock, now=start + timedelta(seconds=61))

    assert half.due_at == start + timedelta(minutes=1)
    assert half.percent_used == pytest.approx(50.0)
    assert not half.breached
    assert late.breached and late.met is None
    assert late.remaining == timedelta(seconds=-1)


def test_percent_used_met_and_breached_on_the_business_clock(london):
    start = local(LONDON, 2026, 3, 16, 9)
    deadline = local(LONDON, 2026, 3, 16, 13)

    running = evaluate(
        start=start, target=P3_RESPONSE, calendar=london, now=local(LONDON, 2026, 3, 16, 11)
    )
    met = evaluate(
        start=start,
        target=P3_RESPONSE,
        calendar=london,
        now=local(LONDON, 2026, 3, 18, 9),
        stopped_at=local(LONDON, 2026, 3, 16, 12),
    )
    missed = evaluate(
        start=start,
        target=P3_RESPONSE,
        calendar=london,
        now=local(LONDON, 2026, 3, 18, 9),
        stopped_at=local(LONDON, 2026, 3, 16, 14),
    )

    assert running.percent_used == pytest.approx(50.0)
    assert running.due_at == deadline and not running.breached and running.met is None
    assert met.stopped and met.met is True and not met.breached
    assert met.elapsed == timedelta(hours=3) and met.due_at == deadline
    assert missed.met is False and missed.breached
    assert missed.remaining == timedelta(hours=-1)
    assert missed.percent_used == pytest.approx(125.0)
    assert missed.due_at == deadline


def test_stopped_while_on_hold_reports_the_deadline_as_it_stood(london):
    start = local(LONDON, 2026, 3, 16, 9)
    pause = (local(LONDON, 2026, 3, 16, 10), None)
    stop = local(LONDON, 2026, 3, 16, 11)

    state = evaluate(
        start=start,
        target=P3_RESPONSE,
        calendar=london,
        pauses=[pause],
        now=local(LONDON, 2026, 3, 20, 9),
        stopped_at=stop,
    )

    assert state.elapsed == timedelta(hours=1)
    assert state.met is True and not state.paused
    assert state.due_at == local(LONDON, 2026, 3, 16, 14)


def test_thresholds_for_notifications(london):
    start = local(LONDON, 2026, 3, 16, 9)
    pause = (local(LONDON, 2026, 3, 16, 11, 30), local(LONDON, 2026, 3, 16, 12))

    instants = [
        threshold_instant(
            start=start, target=P3_RESPONSE, calendar=london, pauses=[pause], percent=p
        )
        for p in (50, 75, 100)
    ]

    assert instants == [
        local(LONDON, 2026, 3, 16, 11),
        local(LONDON, 2026, 3, 16, 12, 30),
        local(LONDON, 2026, 3, 16, 13, 30),
    ]


def test_dst_week_in_new_york_keeps_wall_clock_opening_hours(new_york):
    # Clocks went forward at 02:00 on Sunday 8 March 2026.
    friday = local(NEW_YORK, 2026, 3, 6, 16)

    due = due_at(start=friday, target=P3_RESPONSE, calendar=new_york, pauses=[], now=friday)

    assert due == local(NEW_YORK, 2026, 3, 9, 12)
    assert due == datetime(2026, 3, 9, 16, tzinfo=UTC)  # EDT is UTC-4; before it was UTC-5
    week = new_york.working_seconds_between(
        local(NEW_YORK, 2026, 3, 6, 9), local(NEW_YORK, 2026, 3, 9, 17)
    )
    assert week == 16 * HOUR


def test_a_working_window_spanning_the_dst_change_counts_real_seconds():
    always_open = BusinessCalendar.from_policy(
        CalendarPolicy(
            timezone="America/New_York",
            working_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            start="00:00",
            end="23:59",
        )
    )
    sunday = (local(NEW_YORK, 2026, 3, 8, 0), local(NEW_YORK, 2026, 3, 8, 23, 59))
    autumn_sunday = (local(NEW_YORK, 2026, 11, 1, 0), local(NEW_YORK, 2026, 11, 1, 23, 59))

    assert always_open.working_seconds_between(*sunday) == (22 * 60 + 59) * 60
    assert always_open.working_seconds_between(*autumn_sunday) == (24 * 60 + 59) * 60
    assert always_open.add_working_time(sunday[0], (22 * 60 + 59) * 60) == sunday[1]


def test_a_year_is_counted_quickly_and_exactly(london):
    # 2026 has 261 weekdays, 8 of them English bank holidays.
    began = perf.perf_counter()
    seconds = london.working_seconds_between(
        local(LONDON, 2026, 1, 1, 0), local(LONDON, 2027, 1, 1, 0)
    )
    took = perf.perf_counter() - began

    assert seconds == 253 * 8 * HOUR
    assert took < 0.5
    later = london.add_working_time(local(LONDON, 2026, 1, 1, 0), 253 * 8 * HOUR)
    assert later == local(LONDON, 2026, 12, 31, 17)


@pytest.mark.parametrize("hours", [0.5, 3, 7.99, 8, 9, 40, 123.25])
@pytest.mark.parametrize(
    "start",
    [
        local(LONDON, 2026, 3, 13, 16, 45),
        local(LONDON, 2026, 3, 28, 12),  # Saturday before the UK clocks go forward
        local(LONDON, 2026, 12, 23, 23),
    ],
)
def test_adding_then_counting_gives_the_same_working_time(london, start, hours):
    finish = london.add_working_time(start, hours * HOUR)

    assert london.working_seconds_between(start, finish) == pytest.approx(hours * HOUR)
    assert london.is_working_time(finish - timedelta(seconds=1))


def test_working_time_boundaries_and_closed_dates():
    calendar = BusinessCalendar.from_policy(
        CalendarPolicy(timezone="Europe/London", closed_dates=[date(2026, 3, 18)])
    )

    assert calendar.is_working_time(local(LONDON, 2026, 3, 17, 9))
    assert not calendar.is_working_time(local(LONDON, 2026, 3, 17, 17))
    assert not calendar.is_working_time(local(LONDON, 2026, 3, 17, 8, 59))
    assert not calendar.is_working_time(local(LONDON, 2026, 3, 21, 12))  # Saturday
    assert not calendar.is_working_time(local(LONDON, 2026, 3, 18, 12))  # closed date
    assert calendar.add_working_time(local(LONDON, 2026, 3, 17, 16), 2 * HOUR) == local(
        LONDON, 2026, 3, 19, 10
    )


def test_24x7_pause_shifts_deadline_and_calendar_for_picks_the_clock(london):
    start = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)
    pause = (start + timedelta(minutes=5), start + timedelta(minutes=25))
    clock = calendar_for("24x7", london)

    due = due_at(
        start=start, target=timedelta(minutes=15), calendar=clock, pauses=[pause], now=start
    )

    assert isinstance(clock, TwentyFourSeven)
    assert calendar_for("business", london) is london
    assert due == start + timedelta(minutes=35)


def test_naive_datetimes_are_refused(london):
    with pytest.raises(ValueError, match="timezone-aware"):
        london.is_working_time(datetime(2026, 3, 16, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        elapsed(
            start=datetime(2026, 3, 16, 10),
            now=datetime(2026, 3, 16, 11, tzinfo=UTC),
            calendar=TwentyFourSeven(),
        )
