"""The SLA policy as an admin writes it in TOML: durations, the calendar, the targets."""

from __future__ import annotations

import tomllib
from datetime import date, time, timedelta

import pytest
from pydantic import ValidationError

from models.sla_policy import (
    CalendarPolicy,
    SlaPolicy,
    SlaTarget,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("1 day", timedelta(days=1)),
        ("45 min", timedelta(minutes=45)),
        ("1m", timedelta(minutes=1)),
        ("2d 4h", timedelta(days=2, hours=4)),
        ("1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
        (" 1.5H ", timedelta(hours=1, minutes=30)),
    ],
)
def test_durations_people_write(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("15", "add one"),
        ("0m", "longer than zero"),
        ("-5m", "negative"),
        ("", "a duration is needed"),
        ("soon", "could not read"),
        ("5 fortnights", "unknown unit 'fortnights'"),
        ("1h 2h", "twice"),
        ("1h then 5m", "could not read"),
    ],
)
def test_durations_refused_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("td", "shown"),
    [
        (timedelta(hours=1, minutes=30), "1h 30m"),
        (timedelta(days=3), "3d"),
        (timedelta(seconds=45), "45s"),
        (timedelta(days=2, hours=4), "2d 4h"),
        (timedelta(minutes=-15), "-15m"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration(td, shown):
    assert format_duration(td) == shown


@pytest.mark.parametrize("text", ["15m", "1h 30m", "2d 4h", "45s", "10d"])
def test_format_reads_back(text):
    assert format_duration(parse_duration(text)) == text


def test_a_duration_without_a_unit_in_toml_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        SlaTarget.model_validate({"response": 15, "resolution": "4h", "calendar": "24x7"})

    error = caught.value.errors()[0]
    assert error["loc"] == ("response",)
    assert "no unit" in error["msg"]


def test_response_longer_than_resolution_is_refused():
    with pytest.raises(ValidationError, match="longer than the resolution"):
        SlaTarget(response="8h", resolution="4h", calendar="24x7")
    with pytest.raises(ValidationError, match="P3: the response target"):
        SlaPolicy.model_validate(
            {"targets": {"P3": {"response": "2d", "resolution": "10h", "calendar": "business"}}}
        )


def test_business_days_are_working_days():
    policy = SlaPolicy()

    assert policy.clock_target(3, "resolution") == timedelta(hours=24)
    assert policy.clock_target(4, "response") == timedelta(hours=8)
    assert policy.clock_target(5, "resolution") == timedelta(hours=80)
    assert policy.clock_target(1, "resolution") == timedelta(hours=4)
    long_days = SlaPolicy(calendar=CalendarPolicy(start="08:00", end="18:00"))
    assert long_days.clock_target(4, "response") == timedelta(hours=10)


def test_business_hours_stay_hours_and_weeks_are_working_weeks():
    target = SlaTarget(response="36h", resolution="2w", calendar="business")
    four_day_week = CalendarPolicy(working_days=["mon", "tue", "wed", "thu"])

    assert target.counted("response", CalendarPolicy()) == timedelta(hours=36)
    assert target.counted("resolution", CalendarPolicy()) == timedelta(hours=80)
    assert target.counted("resolution", four_day_week) == timedelta(hours=64)
    # Passing through SlaPolicy keeps how the target was written.
    assert SlaPolicy(targets={"P3": target}).clock_target(3, "response") == timedelta(hours=36)


def test_defaults_follow_the_domain_table():
    policy = SlaPolicy()
    table = {
        1: ("15m", "4h", "24x7"),
        2: ("1h", "8h", "24x7"),
        3: ("4h", "3d", "business"),
        4: ("1d", "5d", "business"),
        5: ("2d", "10d", "business"),
    }

    for priority, (response, resolution, clock) in table.items():
        target = policy.target_for(priority)
        assert target.response == parse_duration(response)
        assert target.resolution == parse_duration(resolution)
        assert target.calendar == clock
    assert policy.warn_at == [50, 75]
    assert policy.breach_reminder_every == timedelta(hours=1)
    with pytest.raises(ValueError, match="1 to 5"):
        policy.target_for(6)


def test_a_policy_file_overrides_some_priorities_and_keeps_the_rest():
    text = """
    warn_at = [80, 50]
    breach_reminder_every = "30m"

    [calendar]
    timezone = "Europe/London"
    working_days = ["Monday", "tue", "wed", "thu", "fri"]
    start = "08:30"
    end = 17:30:00
    country = "gb"
    subdivision = "ENG"
    closed_dates = [2026-12-24]

    [targets.p1]
    response = "10 min"
    resolution = "2h"
    calendar = "24x7"
    """
    policy = SlaPolicy.model_validate(tomllib.loads(text))

    assert policy.target_for(1).response == timedelta(minutes=10)
    assert policy.target_for(2).resolution == timedelta(hours=8)
    assert policy.warn_at == [50, 80]
    assert policy.breach_reminder_every == timedelta(minutes=30)
    assert policy.calendar.country == "GB"
    assert policy.calendar.working_days == ["mon", "tue", "wed", "thu", "fri"]
    assert (policy.calendar.start, policy.calendar.end) == (time(8, 30), time(17, 30))
    assert policy.calendar.closed_dates == [date(2026, 12, 24)]
    assert policy.clock_target(3, "resolution") == timedelta(hours=27)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
        ({"country": "XX"}, "does not know country 'XX'"),
        ({"country": "GB", "subdivision": "ZZZ"}, "GB has no subdivision 'ZZZ'"),
        ({"subdivision": "ENG"}, "needs a country"),
        ({"start": "17:00", "end": "09:00"}, "must start before it ends"),
        ({"start": "9am"}, "HH:MM"),
        ({"end": "25:00"}, "hours go to 23"),
        ({"working_days": ["mon", "funday"]}, "'funday' is not a weekday"),
        ({"working_days": []}, "at least one working day"),
        ({"timezon": "UTC"}, "Extra inputs are not permitted"),
    ],
)
def test_a_calendar_policy_that_cannot_work_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        CalendarPolicy.model_validate(fields)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"targets": {"P6": {"response": "1h", "resolution": "2h", "calendar": "24x7"}}}, "P1"),
        ({"warn_at": [0, 75]}, "between 1 and 99"),
        ({"warn_at": [50, 100]}, "between 1 and 99"),
        ({"breach_reminder_every": "0s"}, "longer than zero"),
    ],
)
def test_sla_policy_refusals(data, message):
    with pytest.raises(ValidationError, match=message):
        SlaPolicy.model_validate(data)
