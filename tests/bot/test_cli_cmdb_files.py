"""`servicedesk cmdb import` meets files that are broken, hostile or odd with a line number and
exit status 1, never a traceback; CSV exports cannot run as spreadsheet formulas and still
import back to the same values."""

from __future__ import annotations

import argparse

import pytest

from bot.admin_commands import cmdb_command
from services import cmdb, cmdb_import, tabular
from tests.permissions_support import editor


def _import(database, path, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = cmdb_command(argparse.Namespace(cmdb_action="import", file=str(path)), database)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _export(database, capsys, fmt: str = "csv") -> str:  # type: ignore[no-untyped-def]
    assert cmdb_command(argparse.Namespace(cmdb_action="export", format=fmt), database) == 0
    return capsys.readouterr().out


def _names(database) -> list[str]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [item.name for item in cmdb.search(session, text="", limit=100)]


@pytest.mark.parametrize(
    ("suffix", "content", "expected"),
    [
        # Latin-1 "é" on line 3: not UTF-8.
        ("csv", b"name,type\nweb-01,server\ncaf\xe9,server\n", "line 3: not UTF-8 text"),
        # A cell over the csv module's field limit (131,072 characters) on line 2.
        ("csv", b'name,type,notes\nweb-01,server,"' + b"x" * 200_000 + b'"\n', "line 2:"),
        ("csv", b"", "line 1: the file is empty"),
        ("csv", b"name,type\nweb\x00-01,server\n", "line 2: contains a NUL character"),
        ("toml", b"   \n", "line 1: the file is empty"),
        # A list where text is expected.
        ("toml", b'[[item]]\nname = ["web-01"]\ntype = "server"\n', "name must be text"),
        ("yaml", b"item:\n  - name: web-01\n    type: [server]\n", "type must be text"),
        ("yaml", b"item:\n  - name: web-01\n    type: server\n    team: {a: 1}\n", "team must"),
        # A number with more digits than Python turns into text, and one past float range.
        ("toml", b"[[item]]\nname = " + b"9" * 5000 + b'\ntype = "server"\n', "not valid TOML"),
        ("yaml", b"item:\n  - name: web-01\n    type: server\n    size: " + b"9" * 5000, "YAML"),
        ("toml", b'[[item]]\nname = "web-01"\ntype = "server"\nsize = 1e999\n', None),
        # A dates attribute cannot be stored as JSON.
        ("toml", b'[[item]]\nname = "db"\ntype = "database"\nsince = 2026-01-01\n', "attributes"),
        # Long cells under the csv limit: checked against the columns, not truncated.
        ("csv", b"name,type,team\nweb-01,server," + b"t" * 100_000 + b"\n", "team longer than"),
        ("csv", b"name,type\n" + b"n" * 100_000 + b",server\n", "name longer than 100"),
        ("csv", b"name,type,notes\nweb-01,server," + b"z" * 100_000 + b"\n", "attributes longer"),
    ],
)
def test_bad_files_get_a_line_and_exit_1(database, tmp_path, capsys, suffix, content, expected):
    path = tmp_path / f"items.{suffix}"
    path.write_bytes(content)
    code, output = _import(database, path, capsys)
    if expected is None:  # a value that is merely odd (inf) imports
        assert code == 0, output
        return
    assert code == 1, output
    assert expected in output, output
    assert "Traceback" not in output
    assert "nothing imported" in output
    assert _names(database) == ["payments", "vpn"] or "web-01" not in _names(database)


def test_yaml_alias_bomb_is_refused_before_it_expands(database, tmp_path, capsys):
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        levels.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    bomb = "\n".join(levels) + "\nitem:\n  - name: web-01\n    type: server\n    runs_on: *a9\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb, encoding="utf-8")
    code, output = _import(database, path, capsys)
    assert code == 1 and "line 1: YAML anchors and aliases" in output


def test_byte_order_mark_is_accepted(database, tmp_path, capsys):
    path = tmp_path / "items.csv"
    path.write_bytes("\ufeffname,type\nweb-01,server\n".encode())
    code, output = _import(database, path, capsys)
    assert code == 0 and "1 created" in output, output


FORMULAS = {
    "calc": "=1+2",
    "plus": "+SUM(A1)",
    "minus": "-2+3",
    "at": "@cmd",
    "tab": "\tTAB",
    "cr": "\rCR",
    "quoted": "'=already quoted",
    "quote": "'plain",
    "plain": "plain text",
}
WHITESPACE_LED = ("tab", "cr")


def test_csv_export_neutralises_formulas_and_round_trips(database, clock, tmp_path, capsys):
    with database.session() as session:
        for suffix, value in FORMULAS.items():
            cmdb.create_item(
                session,
                name=f"item-{suffix}",
                type="server",
                actor=editor("U0ADMIN"),
                now=clock.now(),
                # The named fields are trimmed on import: whitespace-led values live in
                # attributes, which keep every character.
                supplier=None if suffix in WHITESPACE_LED else value,
                attributes={"note": value},
            )
        cmdb.create_item(
            session, name="=evil()", type="other", actor=editor("U0ADMIN"), now=clock.now()
        )
    exported = _export(database, capsys)
    # No cell of the file starts with a formula character any more.
    import csv
    import io

    for cells in csv.reader(io.StringIO(exported)):
        for cell in cells:
            assert not cell.startswith(tabular.FORMULA_START), cell
    assert "'=evil()" in exported and "'=1+2" in exported and "''=already quoted" in exported
    # Re-importing the file changes nothing: every value came back as it was.
    path = tmp_path / "export.csv"
    path.write_text(exported, encoding="utf-8")
    code, output = _import(database, path, capsys)
    assert code == 0 and "0 created, 0 updated" in output, output
    with database.session() as session:
        for suffix, value in FORMULAS.items():
            item = cmdb.find_by_name(session, name=f"item-{suffix}")
            assert item is not None
            assert item.supplier == (None if suffix in WHITESPACE_LED else value)
            assert cmdb.attributes_of(item) == {"note": value}
        assert cmdb.find_by_name(session, name="=evil()") is not None
    # And into an empty CMDB, the same values are created.
    assert _export(database, capsys) == exported


@pytest.mark.parametrize("value", list(FORMULAS.values()) + ["", "'", "''", "-", "=", "a'=b"])
def test_neutralise_and_restore_are_exact_inverses(value):
    assert tabular.restore_cell(tabular.neutralise_cell(value)) == value


def test_a_hand_quoted_formula_imports_without_its_quote():
    assert tabular.restore_cell("'=x") == "=x"
    assert tabular.restore_cell("'note") == "'note"


def test_files_over_the_size_bound_are_refused_before_parsing(
    database, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cmdb_import, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "big.yaml"
    path.write_text("item:\n" + "  - name: web\n    type: server\n" * 100, encoding="utf-8")
    code, output = _import(database, path, capsys)
    assert code == 1 and "line 1: the file is larger than" in output
