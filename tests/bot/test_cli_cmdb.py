"""`servicedesk cmdb import/export` against the real database."""

from __future__ import annotations

import argparse

from bot.admin_commands import cmdb_command
from services import cmdb


def test_import_reports_and_export_round_trips(database, tmp_path, capsys):
    good = tmp_path / "items.csv"
    good.write_text(
        "name,type,status,depends_on\nweb-01,server,live,\ncheckout,application,live,web-01\n",
        encoding="utf-8",
    )
    assert cmdb_command(argparse.Namespace(cmdb_action="import", file=str(good)), database) == 0
    assert "2 created" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("name,type\nbroken,spaceship\n", encoding="utf-8")
    assert cmdb_command(argparse.Namespace(cmdb_action="import", file=str(bad)), database) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 2" in err
    with database.session() as session:
        assert cmdb.find_by_name(session, name="broken") is None
    args = argparse.Namespace(cmdb_action="export", format="toml")
    assert cmdb_command(args, database) == 0
    assert "checkout" in capsys.readouterr().out
