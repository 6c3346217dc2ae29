"""`servicedesk capacity import FILE`: good rows kept and evaluated once per metric, bad rows
and lines that are not UTF-8 reported by line, a file imported twice stores nothing new."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.admin_commands import capacity_command
from bot.cli import main
from models.capacity import CapacityAlert, CapacityMeasurement


def run(tmp_path: Path, content: bytes, database, policy, clock, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "measurements.csv"
    path.write_bytes(content)
    code = capacity_command(
        argparse.Namespace(file=str(path)), db=database, policy=policy, now=clock.now()
    )
    out = capsys.readouterr()
    return code, out.out, out.err


def measurements(database) -> list[tuple[str, str, float]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        rows = session.exec(select(CapacityMeasurement).order_by(CapacityMeasurement.at))
        return [(r.item, r.metric, r.value) for r in rows]


GOOD = (
    "item,metric,value,at\n"
    "payments,cpu,50,2026-11-20T10:00:00Z\n"
    "Payments,CPU,60,2026-11-21T10:00:00Z\n"
    "payments,cpu,95,2026-11-22T10:00:00Z\n"
    "vpn,tunnels_free,40,2026-11-22T10:00:00Z\n"
)


def test_a_good_file_is_stored_and_each_metric_evaluated_once(
    tmp_path, database, policy, clock, capsys
):
    code, out, err = run(tmp_path, GOOD.encode(), database, policy, clock, capsys)
    assert code == 0, err
    assert out.startswith(f"{tmp_path / 'measurements.csv'}: 4 measurement(s) stored")
    assert "alerts: payments cpu critical" in out
    assert len(measurements(database)) == 4
    with database.session() as session:
        kinds = [a.kind for a in session.exec(select(CapacityAlert))]
    assert kinds.count("critical") == 1 and "warning" not in kinds  # only the latest counts
    code, out, _ = run(tmp_path, GOOD.encode(), database, policy, clock, capsys)
    assert code == 0 and "0 measurement(s) stored, 4 already stored" in out
    assert len(measurements(database)) == 4


def test_bad_rows_are_reported_by_line_and_good_ones_kept(
    tmp_path, database, policy, clock, capsys
):
    future = (clock.now() + timedelta(days=1)).isoformat()
    content = (
        b"\xef\xbb\xbfitem,metric,value,at\n"
        b"payments,cpu,50,2026-11-20T10:00:00Z\n"
        b"payments,memory,50,2026-11-20T10:00:00Z\n"
        b"payments,cpu,abc,2026-11-20T11:00:00Z\n"
        b"payments,cpu,\xff\xfe,2026-11-20T12:00:00Z\n"
        b"payments,cpu,1e999,2026-11-20T13:00:00Z\n"
        b"payments,cpu,nan,2026-11-20T14:00:00Z\n"
        b"payments,cpu,70," + future.encode() + b"\n"
        b"payments,cpu,70,last tuesday\n"
        b"<!channel>,cpu,70,2026-11-20T15:00:00Z\n"
        b"\n"
        b"vpn,tunnels_free,30,2026-11-20T16:00:00Z\n"
    )
    code, out, err = run(tmp_path, content, database, policy, clock, capsys)
    assert code == 1
    assert "2 measurement(s) stored" in out
    assert "8 row(s) refused" in err
    lines = err.splitlines()
    assert any(line.startswith("  line 3: No capacity requirement for payments memory") for line in lines)
    assert "  line 4: 'abc' is not a number, like 71.5" in lines
    assert any(line.startswith("  line 5: not UTF-8 text (byte 0xff") for line in lines)
    assert any(line.startswith("  line 6: '1e999'") or line.startswith("  line 6: value") for line in lines)
    assert any(line.startswith("  line 7:") for line in lines)
    assert any(line.startswith("  line 8:") and "in the future" in line for line in lines)
    assert any(line.startswith("  line 9:") and "ISO 8601" in line for line in lines)
    assert "  line 10: No capacity requirement for <!channel> cpu: add it to [[capacity]] in the policy file." in lines
    assert measurements(database) == [("payments", "cpu", 50.0), ("vpn", "tunnels_free", 30.0)]


def test_files_that_cannot_be_read_say_why(tmp_path, database, policy, clock, capsys):
    assert run(tmp_path, b"", database, policy, clock, capsys)[0] == 1
    code, _, err = run(tmp_path, b"item,value\npayments,1\n", database, policy, clock, capsys)
    assert code == 1 and "missing: metric, at" in err
    big = b"item,metric,value,at\n" + b"payments,cpu,1," + b"x" * 200_000 + b"\n"
    code, _, err = run(tmp_path, big, database, policy, clock, capsys)
    assert code == 1 and "line 2" in err
    assert measurements(database) == []


def test_the_command_line_reads_the_environment(tmp_path, database, monkeypatch, capsys):
    from tests.capacity.conftest import CAPACITY_POLICY

    (tmp_path / "policy.toml").write_text(CAPACITY_POLICY)
    (tmp_path / "m.csv").write_text("item,metric,value,at\nvpn,tunnels_free,3,2026-11-01T00:00:00Z\n")
    monkeypatch.setenv("SERVICEDESK_CONFIG", str(tmp_path / "policy.toml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["capacity", "import", str(tmp_path / "m.csv")]) == 0
    assert "1 measurement(s) stored" in capsys.readouterr().out
    assert main(["capacity", "import", str(tmp_path / "missing.csv")]) == 1
