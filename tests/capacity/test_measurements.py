"""Measurements and what they set off, on the store itself: levels, one alert per crossing
(warning to the owner through the outbox, critical as an incident), the least-squares
forecast and its alert, the owners, two writers at once, and `capacity_status`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.capacity import CapacityAlert, CapacityMeasurement, Level
from models.incident import Incident
from models.notification import Notification
from services import capacity, capacity_standing, incidents
from services.errors import InvalidInput, NotFound
from services.permissions import SYSTEM
from tests.capacity.conftest import DBA

DAY = timedelta(days=1)


def send(database, policy, clock, item, metric, value, at=None):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return capacity.record(
            session,
            policy=policy,
            item=item,
            metric=metric,
            value=value,
            at=at.isoformat() if isinstance(at, datetime) else at,
            now=clock.now(),
        )


def outbox(database, kind: str | None = None) -> list[Notification]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        found = session.exec(
            select(Notification)
            .where(Notification.kind == capacity.OUTBOX_KIND)
            .order_by(Notification.id)  # type: ignore[arg-type]
        )
        return [n for n in found if kind is None or n.stage.endswith(":" + kind)]


def kinds(result) -> list[str]:  # type: ignore[no-untyped-def]
    """The threshold alerts a measurement raised (forecasts left out)."""
    return [a.kind for a in result.alerts if a.kind != "forecast"]


def capacity_incidents(database) -> list[Incident]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)))


def test_a_warning_crossing_tells_the_owner_once_and_a_new_crossing_again(database, policy, clock):
    assert send(database, policy, clock, "payments", "cpu", 50).level is Level.OK
    clock.advance(timedelta(minutes=5))
    crossed = send(database, policy, clock, "payments", "cpu", 70)  # at the threshold counts
    assert crossed.level is Level.WARNING and kinds(crossed) == ["warning"]
    for value in (75, 71, 79.5):
        clock.advance(timedelta(minutes=5))
        assert kinds(send(database, policy, clock, "payments", "cpu", value)) == []
    sent = outbox(database, "warning")
    assert len(sent) == 1
    assert sent[0].recipient == "U0LEAD"  # payments' team lead
    assert "*Payments* cpu is at 70%" in sent[0].text and "warning threshold (70%" in sent[0].text
    clock.advance(timedelta(minutes=5))
    assert send(database, policy, clock, "payments", "cpu", 40).level is Level.OK
    clock.advance(timedelta(minutes=5))
    again = send(database, policy, clock, "payments", "cpu", 72)
    assert kinds(again) == ["warning"]
    assert len(outbox(database, "warning")) == 2


def test_a_critical_crossing_opens_one_incident_linked_to_the_item(
    database, policy, clock, cmdb_items
):
    send(database, policy, clock, "orders-db", "disk_used", 700)
    clock.advance(timedelta(minutes=1))
    critical = send(database, policy, clock, "orders-db", "disk_used", 960)
    assert critical.level is Level.CRITICAL and kinds(critical) == ["critical"]
    clock.advance(timedelta(minutes=1))
    assert kinds(send(database, policy, clock, "orders-db", "disk_used", 990)) == []
    (incident,) = capacity_incidents(database)
    assert incident.title == "Capacity critical: orders-db disk_used at 960 GB"
    assert incident.service == "payments"  # the service the item affects
    assert incident.reporter == SYSTEM.user_id and incident.priority == 2
    with database.session() as session:
        from services import links

        assert cmdb_items in links.linked(session, key=incident.key)
    # Back under and over again while the incident is open: recorded on it, no second one.
    clock.advance(timedelta(minutes=1))
    send(database, policy, clock, "orders-db", "disk_used", 900)
    clock.advance(timedelta(minutes=1))
    again = send(database, policy, clock, "orders-db", "disk_used", 955)
    assert [a.incident_key for a in again.alerts if a.kind == "critical"] == [incident.key]
    assert len(capacity_incidents(database)) == 1
    # Once it is resolved, the next crossing is a new incident.
    with database.session() as session:
        incidents.acknowledge(
            session, key=incident.key, actor=SYSTEM, now=clock.now(), policy=policy
        )
        incidents.resolve(
            session,
            key=incident.key,
            code="fixed",
            note="disk grown",
            actor=SYSTEM,
            now=clock.now(),
            policy=policy,
        )
    clock.advance(timedelta(minutes=1))
    send(database, policy, clock, "orders-db", "disk_used", 500)
    clock.advance(timedelta(minutes=1))
    send(database, policy, clock, "orders-db", "disk_used", 951)
    assert len(capacity_incidents(database)) == 2


def test_lower_is_worse_when_the_direction_is_down(database, policy, clock):
    assert send(database, policy, clock, "vpn", "tunnels_free", 30).level is Level.OK
    clock.advance(timedelta(minutes=1))
    assert send(database, policy, clock, "vpn", "tunnels_free", 20).level is Level.WARNING
    assert outbox(database, "warning")[0].recipient == "U0VPNOWNER"
    clock.advance(timedelta(minutes=1))
    assert send(database, policy, clock, "vpn", "tunnels_free", 4).level is Level.CRITICAL


def test_an_older_measurement_does_not_change_the_level(database, policy, clock):
    send(database, policy, clock, "payments", "cpu", 50)
    late = send(database, policy, clock, "payments", "cpu", 99, at=clock.now() - DAY)
    assert late.stored and late.level is Level.OK and late.alerts == []
    repeated = send(database, policy, clock, "payments", "cpu", 99, at=clock.now() - DAY)
    assert not repeated.stored
    with database.session() as session:
        assert len(session.exec(select(CapacityMeasurement)).all()) == 2


def test_the_least_squares_line_forecasts_the_critical_crossing(policy):
    disk = policy.capacity[1]  # warning 800, critical 950
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rising = [(start + n * DAY, 500 + 50 * n) for n in range(4)]  # 50 GB a day
    assert capacity.forecast(disk, rising) == start + 9 * DAY
    scattered = [(start, 500), (start + DAY, 600), (start + 2 * DAY, 550), (start + 3 * DAY, 650)]
    # slope 40/day, mean (1.5 d, 575): reaches 950 at 1.5 + 375/40 = 10.875 days
    assert capacity.forecast(disk, scattered) == start + timedelta(days=10.875)
    assert capacity.forecast(disk, rising[:2]) is None  # too few points
    assert capacity.forecast(disk, [(t, 900 - v) for t, v in rising]) is None  # falling
    assert capacity.forecast(disk, [(t, 700) for t, _ in rising]) is None  # flat
    assert capacity.forecast(disk, [(start, 1), (start, 2), (start, 3)]) is None  # one instant
    tunnels = policy.capacity[2]  # lower is worse, critical 5
    falling = [(start + n * DAY, 45 - 10 * n) for n in range(3)]
    assert capacity.forecast(tunnels, falling) == start + 4 * DAY
    # A line already past critical forecasts the latest point, not the past.
    jump = [(start, 0), (start + DAY, 1000), (start + 2 * DAY, 940)]
    assert capacity.forecast(disk, jump) == start + 2 * DAY


def test_a_forecast_inside_the_horizon_alerts_once_per_crossing(database, policy, clock):
    values = [500, 550, 600]  # +50 a day: critical 950 in 7 more days
    for value in values:
        result = send(database, policy, clock, "orders-db", "disk_used", value)
        clock.advance(DAY)
    assert [a.kind for a in result.alerts] == ["forecast"]
    assert result.forecast_at == clock.now() - DAY + 7 * DAY
    (told,) = outbox(database)
    assert told.recipient == "U0CAPOWNER"  # no CMDB item: the capacity process owner
    assert ":crystal_ball: *orders-db* disk_used is heading for its critical threshold" in told.text
    assert send(database, policy, clock, "orders-db", "disk_used", 650).alerts == []
    # The trend turns: the forecast leaves the horizon, then a new rise alerts again.
    for value in (400, 300, 200, 100, 50):
        clock.advance(DAY)
        assert send(database, policy, clock, "orders-db", "disk_used", value).forecast_at is None
    raised = []
    for value in (300, 500, 700):
        clock.advance(DAY)
        raised += send(database, policy, clock, "orders-db", "disk_used", value).alerts
    assert [a.kind for a in raised] == ["forecast"]
    assert len(outbox(database)) == 2


def test_a_forecast_beyond_the_horizon_raises_nothing(database, policy, clock):
    for value in (100, 101, 102):  # 1 GB a day: critical in over two years
        result = send(database, policy, clock, "orders-db", "disk_used", value)
        clock.advance(DAY)
    assert result.forecast_at is not None and result.alerts == []


def test_owners_come_from_the_requirement_the_service_the_item_or_the_process(
    database, policy, clock, cmdb_items
):
    with database.session() as session:
        found = capacity.owners(session, policy, policy.capacity)
    assert list(found.values()) == ["U0LEAD", DBA, "U0VPNOWNER"]


def test_nobody_to_tell_means_the_escalations_channel(database, clock):
    from bot.policy import parse_policy
    from tests.conftest import TEST_POLICY

    bare = parse_policy(
        TEST_POLICY + '\n[[capacity]]\nitem = "mq"\nmetric = "depth"\nwarning = 1\ncritical = 9\n'
    )
    send(database, bare, clock, "mq", "depth", 5)
    assert outbox(database)[0].recipient == "C0ESCALATE"


@pytest.mark.parametrize(
    "value", [True, None, "71", [71], {"v": 1}, float("nan"), float("inf"), 1e13, 10**20]
)
def test_values_that_are_not_plain_numbers_are_refused(value: object):
    with pytest.raises(InvalidInput):
        capacity.parse_value(value)
    assert capacity.parse_value(71) == 71.0 and capacity.parse_value(-0.5) == -0.5


@pytest.mark.parametrize(
    "text", ["abc", "nan", "inf", "1e999", "0x10", "1,5", "１２", "", "9" * 50, "1e13"]
)
def test_cells_that_are_not_plain_numbers_are_refused(text: str):
    with pytest.raises(InvalidInput):
        capacity.parse_value(text, from_text=True)
    assert capacity.parse_value(" 71.5 ", from_text=True) == 71.5
    assert capacity.parse_value("2.5e3", from_text=True) == 2500.0


def test_times_are_iso_utc_not_in_the_future_nor_a_decade_back(clock):
    now = clock.now()
    assert capacity.parse_at("2026-11-27T09:00:00Z", now=now) == now - timedelta(hours=1)
    assert capacity.parse_at("2026-11-27T10:00:00+01:00", now=now) == now - timedelta(hours=1)
    assert capacity.parse_at("2026-11-27 09:00", now=now) == now - timedelta(hours=1)
    for bad in ("yesterday", "2026-11-27T11:00:00Z", "2010-01-01T00:00:00Z", 17, "x" * 5000):
        with pytest.raises(InvalidInput):
            capacity.parse_at(bad, now=now)


def test_an_unknown_item_or_metric_is_not_found(database, policy, clock):
    with pytest.raises(NotFound, match="add it to \\[\\[capacity\\]\\]"):
        send(database, policy, clock, "payments", "memory", 1)
    with pytest.raises(NotFound):
        send(database, policy, clock, "<!channel>", "cpu", 1)


def test_two_writers_at_once_count_one_crossing(database, policy, clock):
    send(database, policy, clock, "payments", "cpu", 50)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(value: float, minutes: int) -> None:
        try:
            barrier.wait(timeout=10)
            with database.session() as session:
                capacity.record(
                    session,
                    policy=policy,
                    item="payments",
                    metric="cpu",
                    value=value,
                    at=(clock.now() + timedelta(minutes=minutes)).isoformat(),
                    now=clock.now() + timedelta(minutes=minutes),
                )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(v, m)) for v, m in ((75, 1), (76, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    with database.session() as session:
        alerts = session.exec(select(CapacityAlert)).all()
    assert [a.kind for a in alerts if a.kind != "forecast"] == ["warning"]
    assert len(outbox(database, "warning")) == 1


def test_capacity_status_is_every_requirement_where_it_stands(database, policy, clock):
    send(database, policy, clock, "payments", "cpu", 95)
    with database.session() as session:
        rows = capacity_standing.capacity_status(session, policy, clock.now())
        one = capacity_standing.capacity_status(session, policy, clock.now(), item="VPN")
    assert [(r.item, r.metric) for r in rows] == [
        ("Payments", "cpu"),
        ("orders-db", "disk_used"),
        ("vpn", "tunnels_free"),
    ]
    assert rows[0].level is Level.CRITICAL and rows[0].latest_value == 95
    assert rows[0].latest_at == clock.now() and rows[0].owner == "U0LEAD"
    assert rows[1].level is None and rows[1].latest_value is None and rows[1].owner == "U0CAPOWNER"
    assert [r.metric for r in one] == ["tunnels_free"]


def test_capacity_status_reads_two_queries_however_many_requirements(
    database, policy, clock, cmdb_items
):
    from tests.statements import captured

    for item, metric, value in (("payments", "cpu", 50), ("orders-db", "disk_used", 100)):
        send(database, policy, clock, item, metric, value)
    with database.session() as session:
        seen = captured(
            database, lambda: capacity_standing.capacity_status(session, policy, clock.now())
        )
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, seen


def test_a_short_or_spaced_capacity_token_stops_start_up():
    from bot.settings import SettingsError, load_settings
    from tests.conftest import BOT_TOKEN, SIGNING_SECRET

    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "_env_file": None}
    for bad in ("short", "sixteen chars ok", "x" * 15):
        with pytest.raises(SettingsError, match="CAPACITY_TOKEN must be at least 16 printable"):
            load_settings(CAPACITY_TOKEN=bad, **base)
    assert load_settings(CAPACITY_TOKEN="x" * 16, **base).capacity_token is not None
    assert load_settings(**base).capacity_token is None
