"""How each CMDB file format is read and written, field by field: which cells become fields,
relationships or attributes, what a wrong type is called, the line each error names, and the
exact text an export writes (so that a person can diff two exports)."""

from __future__ import annotations

import pytest

from models.cmdb import CIStatus, RelationKind
from services import cmdb, cmdb_import
from services.errors import InvalidInput
from tests.permissions_support import editor

ADMIN = editor("U0ADMIN")


def _import(database, clock, text: str, format: str) -> cmdb_import.ImportReport:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return cmdb_import.import_file(
            session, text=text, format=format, actor=ADMIN, now=clock.now()
        )


def _errors(report: cmdb_import.ImportReport) -> list[str]:
    return [str(error) for error in report.errors]


def _item(database, name: str):  # type: ignore[no-untyped-def]
    with database.session() as session:
        item = cmdb.find_by_name(session, name=name)
        assert item is not None, name
        depends = [t.name for t in cmdb.targets(session, item=item, kind=RelationKind.DEPENDS_ON)]
        runs = [t.name for t in cmdb.targets(session, item=item, kind=RelationKind.RUNS_ON)]
        session.expunge(item)
        return item, sorted(depends), sorted(runs)


# ------------------------------------------------------------------------------------- CSV


def test_csv_cells_become_fields_relations_and_attributes(database, clock):
    text = (
        " Name , TYPE ,owner,team,status,supplier,depends_on,runs_on,attributes,rack,empty\n"
        "db-01,server,,infra,,,,,,  B2  ,\n"
        "\n"
        "app-01,server,,infra,retired,,,,,A3,\n"
        'Ledger,database,U0DBA, dba ,,Acme,"db-01",app-01,"{""size"": 3}",C1,\n'
        ",,,,,,,,,,\n"
        'Billing,application,,,,,Ledger; db-01 ;,,"",,\n'
    )
    report = _import(database, clock, text, "csv")
    assert report.ok, _errors(report)
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    db01, _, _ = _item(database, "db-01")
    assert db01.status == CIStatus.LIVE.value  # a blank status is the default, not ""
    assert db01.team == "infra" and db01.owner is None and db01.supplier is None
    assert cmdb.attributes_of(db01) == {"rack": "B2"}  # a free column, stripped
    app, _, _ = _item(database, "app-01")
    assert app.status == "retired"
    ledger, depends, runs = _item(database, "Ledger")
    assert (ledger.owner, ledger.team, ledger.supplier) == ("U0DBA", "dba", "Acme")
    assert cmdb.attributes_of(ledger) == {"size": 3, "rack": "C1"}
    assert (depends, runs) == (["db-01"], ["app-01"])
    billing, depends, runs = _item(database, "Billing")
    assert depends == ["Ledger", "db-01"] and runs == []
    assert cmdb.attributes_of(billing) == {}


def test_csv_errors_name_the_line_each_row_starts_on(database, clock):
    text = (
        "name,type,notes,attributes\n"
        'ok-1,server,"two\nlines",\n'  # a quoted cell over two lines: the next row is line 4
        "bad-1,spaceship,,\n"
        "\n"
        'bad-2,server,,"[1, 2]"\n'
        "bad-3,server,,{not json\n"
    )
    report = _import(database, clock, text, "csv")
    assert _errors(report) == [
        "line 4: unknown type 'spaceship' (use "
        + ", ".join(t.value for t in cmdb_import.CIType)
        + ")",
        'line 6: attributes must be a JSON object like {"rack": 1}',
        'line 7: attributes must be a JSON object like {"rack": 1}',
    ]
    with database.session() as session:
        assert cmdb.find_by_name(session, name="ok-1") is None  # all or nothing


@pytest.mark.parametrize(
    "header", ["type,owner", "", "\n", "Type,Named"], ids=["no name", "empty", "blank", "close"]
)
def test_csv_needs_a_header_with_a_name_column(database, clock, header):
    report = _import(database, clock, header + "\nweb,server\n", "csv")
    assert _errors(report) == [
        "line 1: the first line must be a header with at least a 'name' column"
    ]


def test_csv_unreadable_line_is_named(database, clock):
    report = _import(database, clock, 'name,type\nweb,server\n"x' + "y" * 200_000 + '"\n', "csv")
    [error] = _errors(report)
    assert error.startswith("line 3: not readable as CSV: ")


# ------------------------------------------------------------------------- TOML and YAML


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("5", "a number"),
        ("true", "true/false"),
        ('["a"]', "a list"),
        ("{ a = 1 }", "a table"),
        ("1.5", "a float"),
        ("2026-01-01", "a date"),
    ],
)
def test_toml_fields_must_be_text_and_say_what_they_got(database, clock, value, kind):
    text = f'[[item]]\nname = "web"\ntype = "server"\nowner = {value}\n'
    assert _errors(_import(database, clock, text, "toml")) == [
        f"line 1: owner must be text, not {kind}"
    ]


def test_toml_rows_relations_and_attributes(database, clock):
    text = (
        '# a comment\n[[item]]\nname = "db-01"\ntype = "server"\nteam = ""\n'
        '\n  [[ item ]]\nName = "Ledger"\nTYPE = "database"\ndepends_on = "db-01"\n'
        'runs_on = ["db-01"]\nrack = "B2"\nattributes = { size = 3 }\n'
        '\n[[item]]\nname = "Bare"\ntype = "server"\nattributes = {}\n'
    )
    report = _import(database, clock, text, "toml")
    assert report.ok, _errors(report)
    db01, _, _ = _item(database, "db-01")
    assert db01.team is None  # blank text is no value
    ledger, depends, runs = _item(database, "Ledger")
    assert (depends, runs) == (["db-01"], ["db-01"])
    assert cmdb.attributes_of(ledger) == {"rack": "B2", "size": 3}
    assert cmdb.attributes_of(_item(database, "Bare")[0]) == {}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            'depends_on = ["db-01", 3]',
            "line 5: depends_on must be item names (text) or a list of them",
        ),
        ("runs_on = 3", "line 5: runs_on must be item names (text) or a list of them"),
        ('attributes = "x"', "line 5: attributes must be a table of keys and values"),
        ('attributes = ["x"]', "line 5: attributes must be a table of keys and values"),
    ],
)
def test_toml_wrong_shapes_on_the_item_line(database, clock, body, error):
    text = f'[[item]]\nname = "db-01"\ntype = "server"\n\n[[item]]\nname = "x"\ntype = "server"\n{body}\n'
    assert _errors(_import(database, clock, text, "toml")) == [error]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('item = "web"', "line 1: the file must hold a list of items under 'item'"),
        ("item = [1]", "line 0: each item must be a table of keys and values"),
        ('name = "x"\nbroken line\n', "line 2: not valid TOML"),
        ("x = 1" + "0" * 5000, "line 1: not valid TOML"),
    ],
)
def test_toml_file_shape_errors(database, clock, text, error):
    [said] = _errors(_import(database, clock, text, "toml"))
    assert said.startswith(error)


def test_toml_without_items_imports_nothing(database, clock):
    report = _import(database, clock, 'title = "empty"\n', "toml")
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 0, 0)


def test_yaml_rows_and_their_lines(database, clock):
    text = (
        "item:\n"
        "  - name: db-01\n"
        "    type: server\n"
        "  - name: Ledger\n"
        "    type: database\n"
        "    depends_on: [db-01]\n"
        "    runs_on: db-01\n"
        "    rack: B2\n"
        "    attributes: {size: 3}\n"
        "  - name: Wrong\n"
        "    type: server\n"
        "    owner: 12\n"
    )
    assert _errors(_import(database, clock, text, "yml")) == [
        "line 10: owner must be text, not a number"
    ]
    report = _import(database, clock, text.replace("owner: 12", "owner: U0DBA"), "YAML")
    assert report.ok, _errors(report)
    ledger, depends, runs = _item(database, "Ledger")
    assert (depends, runs) == (["db-01"], ["db-01"])
    assert cmdb.attributes_of(ledger) == {"rack": "B2", "size": 3}
    assert _item(database, "Wrong")[0].owner == "U0DBA"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("item:\n  - name: a\n    type: [\n", "line 4: not valid YAML"),
        ("item:\n  - &a {name: x, type: server}\n", "line 2: YAML anchors and aliases"),
        ("item: 3\n", "line 1: the file must hold a list of items under 'item'"),
        ("item:\n  - just text\n", "line 2: each item must be a table of keys and values"),
        ("- name: x\n  type: server\n  owner: [U1]\n", "line 0: owner must be text, not a list"),
        ("item:\n  - name: x\n    type: server\n    attributes: 3\n", "line 2: attributes must"),
        ("x: 1" + "0" * 5000 + "\n", "line 1: not valid YAML"),
    ],
)
def test_yaml_file_shape_errors(database, clock, text, error):
    [said] = _errors(_import(database, clock, text, "yaml"))
    assert said.startswith(error)


def test_an_unknown_format_is_refused_by_name(database, clock):
    with pytest.raises(InvalidInput, match=r"Import reads csv, toml, yaml files, not 'xml'\."):
        _import(database, clock, "<x/>", "XML")
    with database.session() as session:
        with pytest.raises(InvalidInput, match=r"Give a file or its text to import\."):
            cmdb_import.import_file(session, actor=ADMIN, now=clock.now())
        with pytest.raises(InvalidInput, match=r"Export writes csv, toml, yaml files, not 'xml'"):
            cmdb_import.export(session, format="xml")


# ------------------------------------------------------------------------------ applying


def test_counts_and_relationships_follow_the_file(database, clock):
    first = "name,type,status,depends_on\nA,server,,B;C\nB,server,retired,\nC,server,,\n"
    report = _import(database, clock, first, "csv")
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    # A drops C and keeps B; B's status is left alone by a blank cell; C gains a team.
    second = "name,type,status,team,depends_on\nA,,,,B\nB,,,,\nC,,,ops,\n"
    report = _import(database, clock, second, "csv")
    assert report.ok, _errors(report)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    assert _item(database, "A")[1] == ["B"]
    assert _item(database, "B")[0].status == "retired"
    assert _item(database, "C")[0].team == "ops"
    # A row that does not mention a relationship column leaves those relationships alone.
    report = _import(database, clock, "name,depends_on\nA,B;C\n", "csv")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    report = _import(database, clock, "name\nA\n", "csv")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert _item(database, "A")[1] == ["B", "C"]


# ------------------------------------------------------------------------------- exports


def _seed(database, clock):  # type: ignore[no-untyped-def]
    text = (
        "name,type,owner,team,status,supplier,depends_on,runs_on,attributes\n"
        'db,server,,infra,live,Acme,,,"{""ok"": true, ""n"": 2, ""x"": 1.5, '
        '""tags"": [""a"", 1], ""deep"": {""k"": ""v""}, ""odd key"": ""q\\""""}"\n'
        "app,application,U0APP,,retired,,db,db,\n"
        "=cmd,server,,,,,,,\n"
    )
    report = _import(database, clock, text, "csv")
    assert report.ok, _errors(report)


def test_csv_export_text(database, clock):
    _seed(database, clock)
    with database.session() as session:
        text = cmdb_import.export(session, format="CSV")
    assert text.splitlines() == [
        "name,type,owner,team,status,supplier,depends_on,runs_on,attributes",
        "'=cmd,server,,,live,,,,",
        "app,application,U0APP,,retired,,db,db,",
        'db,server,,infra,live,Acme,,,"{""deep"": {""k"": ""v""}, ""n"": 2, ""odd key"": '
        '""q\\"""", ""ok"": true, ""tags"": [""a"", 1], ""x"": 1.5}"',
    ]


def test_toml_export_text(database, clock):
    _seed(database, clock)
    with database.session() as session:
        text = cmdb_import.export(session, format="toml")
    assert text == (
        '[[item]]\nname = "=cmd"\ntype = "server"\nstatus = "live"\n\n'
        '[[item]]\nname = "app"\ntype = "application"\nowner = "U0APP"\nstatus = "retired"\n'
        'depends_on = ["db"]\nruns_on = ["db"]\n\n'
        '[[item]]\nname = "db"\ntype = "server"\nteam = "infra"\nstatus = "live"\n'
        'supplier = "Acme"\nattributes = { deep = { k = "v" }, n = 2, "odd key" = "q\\"", '
        'ok = true, tags = ["a", 1], x = 1.5 }\n'
    )


def test_yaml_export_text_and_an_empty_cmdb(database, clock):
    with database.session() as session:
        assert cmdb_import.export(session, format="toml") == ""
        assert cmdb_import.export(session, format="csv") == (
            "name,type,owner,team,status,supplier,depends_on,runs_on,attributes\n"
        )
    _seed(database, clock)
    with database.session() as session:
        text = cmdb_import.export(session, format="yml")
    assert text.startswith(
        "item:\n- name: =cmd\n  type: server\n  status: live\n- name: app\n"
        "  type: application\n  owner: U0APP\n  status: retired\n  depends_on:\n  - db\n"
    )
    assert "team" not in text.split("- name: db")[0]  # empty fields are left out


# ---------------------------------------------------------------------- the file as a whole


def test_whole_file_refusals_name_their_line(database, clock, monkeypatch):
    nul = "name,type\nweb,server\nd\x00b,server\nx\x00,server\n"
    assert _errors(_import(database, clock, nul, "csv")) == [
        "line 3: contains a NUL character; the file is probably not text"
    ]
    assert _errors(_import(database, clock, " \n\t\n", "toml")) == ["line 1: the file is empty"]
    monkeypatch.setattr(cmdb_import, "MAX_FILE_BYTES", 2 * 2**20)
    start = '[[item]]\nname = "web"\ntype = "server"\n# '
    exactly = start + "x" * (2 * 2**20 - len(start) - 1) + "\n"
    assert len(exactly) == 2 * 2**20
    assert _import(database, clock, exactly, "toml").ok  # the bound itself is allowed
    assert _errors(_import(database, clock, exactly + " ", "toml")) == [
        "line 1: the file is larger than 2 MiB"
    ]


def test_a_byte_order_mark_and_format_names_in_any_case(database, clock, tmp_path):
    report = _import(database, clock, "\ufeffname,type\nweb,server\n", "CSV")
    assert report.ok and report.created == 1
    assert _item(database, "web")[0].name == "web"
    path = tmp_path / "items.YML"
    path.write_text("item:\n  - name: db\n    type: server\n", encoding="utf-8")
    with database.session() as session:
        report = cmdb_import.import_file(session, path=path, actor=ADMIN, now=clock.now())
    assert report.ok and report.created == 1, _errors(report)
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"name,type\ncaf\xe9,server\n")
    with database.session() as session:
        report = cmdb_import.import_file(session, path=bad, actor=ADMIN, now=clock.now())
    assert _errors(report) == [
        "line 2: not UTF-8 text (byte 0xe9 at column 4); save the file as UTF-8"
    ]
