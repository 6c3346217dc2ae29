"""How each CMDB file format is read and written, field by field: which cells become fields,
relationships or attributes, what a wrong type is called, the line each error names, and the
exact text an export writes (so that a person can diff two exports)."""

from __future__ import annotations

import pytest

from models.cmdb import CIStatus, RelationKind
from services import cmdb, cmdb_import, tabular
from services.errors import InvalidInput
from tests.permissions_support import editor

ADMIN = editor("U0ADMIN")


def _import(database, clock, text: str, format: str) -> cmdb_import.ImportReport:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return cmdb_import.import_file(
            session, text=text, format=format, actor=ADMIN, now=clock.now()
        )


def _import_path(database, clock, path) -> cmdb_import.ImportReport:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return cmdb_import.import_file(session, path=path, actor=ADMIN, now=clock.now())


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
    report = _import_path(database, clock, path)
    assert report.ok and report.created == 1, _errors(report)
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"name,type\ncaf\xe9,server\n")
    report = _import_path(database, clock, bad)
    assert _errors(report) == [
        "line 2: not UTF-8 text (byte 0xe9 at column 4); save the file as UTF-8"
    ]


# ------------------------------------------------------------------- second pass at the edges


def test_the_messages_whole(database, clock, tmp_path):
    with database.session() as session:
        with pytest.raises(InvalidInput, match=r"^Give a file or its text to import\.$"):
            cmdb_import.import_file(session, actor=ADMIN, now=clock.now())
        with pytest.raises(InvalidInput, match=r"^Import reads csv, toml, yaml files, not ''\.$"):
            cmdb_import.import_file(session, text="name\nx\n", actor=ADMIN, now=clock.now())
    # The NUL's line counts the line ends before it, from the file's very first character.
    nul = "\nname,type\nw\x00b,server\nx,server\ny,server\nz,server\n"
    assert _errors(_import(database, clock, nul, "csv")) == [
        "line 3: contains a NUL character; the file is probably not text"
    ]
    for raw, said in (
        (b"\n\xe9", "line 2: not UTF-8 text (byte 0xe9 at column 1)"),
        (
            b"name,type\nweb,server\ncaf\xe9,server\n",
            "line 3: not UTF-8 text (byte 0xe9 at column 4)",
        ),
    ):
        path = tmp_path / "f.csv"
        path.write_bytes(raw)
        report = _import_path(database, clock, path)
        assert _errors(report) == [f"{said}; save the file as UTF-8"]


def test_a_file_exactly_at_the_size_bound_is_read(database, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(cmdb_import, "MAX_FILE_BYTES", 2**20)
    start = '[[item]]\nname = "web"\ntype = "server"\n# '
    path = tmp_path / "big.toml"
    path.write_text(start + "x" * (2**20 - len(start) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == 2**20
    assert _import_path(database, clock, path).ok
    path.write_text(path.read_text(encoding="utf-8") + " ", encoding="utf-8")
    report = _import_path(database, clock, path)
    assert _errors(report) == ["line 1: the file is larger than 1 MiB"]


def test_row_checks_by_their_words(database, clock):
    _import(database, clock, "name,type\nold,server\n", "csv")
    text = (
        "name,type,status,team,owner,depends_on\n"
        "new,,,,,\n"  # a new item needs a type
        "old,,gone,,,\n"  # an existing one does not; its status must be one of the states
        f"t60,server,,{'t' * 60},,\n"
        f"t61,server,,{'t' * 61},,\n"
        "own,server,,,alice,\n"
        "self,server,,,,SELF\n"
        "T60,server,,,,\n"
    )
    statuses = ", ".join(s.value for s in CIStatus)
    assert _errors(_import(database, clock, text, "csv")) == [
        "line 2: missing type",
        f"line 3: bad status 'gone' (use {statuses})",
        "line 5: team longer than 60 characters",
        "line 6: owner 'alice' is not a Slack user id (U…) or user group id (S…)",
        "line 7: depends_on names the item itself",
        "line 8: 'T60' is already on line 4",
    ]


def test_attributes_at_their_bound_and_of_the_wrong_kind(database, clock, monkeypatch):
    monkeypatch.setattr(cmdb_import, "MAX_ATTRIBUTES_CHARS", 20)
    at_bound = '{"k": "' + "v" * 11 + '"}'  # json.dumps gives exactly 20 characters
    over = '{"k": "' + "v" * 12 + '"}'
    text = f'name,type,attributes\nok,server,"{at_bound.replace(chr(34), chr(34) * 2)}"\n'
    text += f'no,server,"{over.replace(chr(34), chr(34) * 2)}"\n'
    assert _errors(_import(database, clock, text, "csv")) == [
        "line 3: attributes longer than 20 characters"
    ]
    dated = '[[item]]\nname = "d"\ntype = "server"\nattributes = { when = 2026-01-01 }\n'
    assert _errors(_import(database, clock, dated, "toml")) == [
        "line 1: attributes must be text, numbers, true/false or lists of them"
    ]


def test_which_rows_replace_attributes(database, clock):
    _import(database, clock, "name,type,rack\nweb,server,A1\n", "csv")
    # No attributes column and no free column: the attributes stay.
    _import(database, clock, "name,type\nweb,server\n", "csv")
    assert cmdb.attributes_of(_item(database, "web")[0]) == {"rack": "A1"}
    # An empty attributes column: they are cleared.
    _import(database, clock, "name,type,attributes\nweb,server,\n", "csv")
    assert cmdb.attributes_of(_item(database, "web")[0]) == {}
    _import(database, clock, '[[item]]\nname = "web"\nrack = "B2"\n', "toml")
    assert cmdb.attributes_of(_item(database, "web")[0]) == {"rack": "B2"}
    _import(database, clock, '[[item]]\nname = "web"\n', "toml")
    assert cmdb.attributes_of(_item(database, "web")[0]) == {"rack": "B2"}
    _import(database, clock, '[[item]]\nname = "web"\nattributes = {}\n', "toml")
    assert cmdb.attributes_of(_item(database, "web")[0]) == {}


def test_first_rows_line_short_rows_and_blank_names_in_a_list(database, clock):
    text = "name,type,team,notes\nbad,spaceship\nshort,server\n"
    [error] = _errors(_import(database, clock, text, "csv"))
    assert error.startswith("line 2: unknown type 'spaceship'")
    assert _import(database, clock, "name,type,team,notes\nshort,server\n", "csv").ok
    listed = (
        '[[item]]\nname = "db"\ntype = "server"\n\n'
        '[[item]]\nname = "app"\ntype = "server"\ndepends_on = ["  ", "db"]\n'
    )
    assert _import(database, clock, listed, "toml").ok
    assert _item(database, "app")[1] == ["db"]
    assert _import(database, clock, "title: nothing here\n", "yaml").ok


def test_csv_records_for_the_other_imports():
    rows = list(
        tabular.csv_records(
            'Service , AMOUNT,category,extra\npayments,10,cloud\n\n"web",\'=2,"a\nb",x,y\n',
            ("service", "amount", "category"),
        )
    )
    assert rows == [
        (2, {"service": "payments", "amount": "10", "category": "cloud"}),
        (4, {"service": "web", "amount": "=2", "category": "a\nb", "extra": "x"}),
    ]
    needed = ("service", "amount", "category")
    with pytest.raises(tabular.FileError) as missing:
        list(tabular.csv_records("service,amount\nx,1\n", needed))
    assert missing.value.line == 1
    assert str(missing.value) == (
        "the first line must be a header naming service, amount and category (missing: category)"
    )
    with pytest.raises(tabular.FileError) as two_missing:
        list(tabular.csv_records("service\nx\n", needed))
    assert str(two_missing.value).endswith("(missing: amount, category)")
    with pytest.raises(tabular.FileError) as empty:
        list(tabular.csv_records("", needed))
    assert str(empty.value) == "the first line must be a header naming service, amount and category"
    with pytest.raises(tabular.FileError) as unreadable:
        list(tabular.csv_records('service,amount,category\n"' + "x" * 200_000 + '"\n', needed))
    assert unreadable.value.line == 2
    assert str(unreadable.value).startswith("not readable as CSV: field larger than")


def test_export_keeps_letters_orders_names_and_quotes_carriage_returns(database, clock):
    text = (
        '[[item]]\nname = "alpha"\ntype = "server"\n\n'
        '[[item]]\nname = "Beta"\ntype = "server"\n\n'
        '[[item]]\nname = "app"\ntype = "application"\nsupplier = "Acme\\r Ltd"\n'
        'depends_on = ["Beta", "alpha"]\n'
        'attributes = { city = "Zürich", flag = false, Key = 1, "Clé" = "é", empty = {} }\n'
    )
    report = _import(database, clock, text, "toml")
    assert report.ok, _errors(report)
    with database.session() as session:
        csv_text = cmdb_import.export(session, format="csv")
        toml_text = cmdb_import.export(session, format="toml")
        yaml_text = cmdb_import.export(session, format="yaml")
    app_row = csv_text.split("\n", 2)[2]
    assert app_row.startswith(
        '"app","application","","","live","Acme\r Ltd","alpha;Beta","",'
        '"{""Clé"": ""é"", ""Key"": 1, ""city"": ""Zürich"", ""empty"": {}, ""flag"": false}"\n'
    )
    assert 'depends_on = ["alpha", "Beta"]' in toml_text
    assert (
        'attributes = { "Clé" = "é", Key = 1, city = "Zürich", empty = {}, flag = false }'
        in toml_text
    )
    assert "city: Zürich" in yaml_text and "- alpha\n  - Beta" in yaml_text


def test_an_unknown_suffix_and_a_yaml_control_character(database, clock, tmp_path):
    path = tmp_path / "items.XML"
    path.write_text("<items/>", encoding="utf-8")
    with database.session() as session:
        with pytest.raises(
            InvalidInput, match=r"^Import reads csv, toml, yaml files, not 'xml'\.$"
        ):
            cmdb_import.import_file(session, path=path, actor=ADMIN, now=clock.now())
    # PyYAML's reader refuses a control character with an error that has no position.
    [said] = _errors(_import(database, clock, "item:\n  - name: \x07\n", "yaml"))
    assert said.startswith("line 1: not valid YAML: unacceptable character")


def test_a_file_is_read_up_to_the_size_bound_and_refused_past_it_before_reading(tmp_path):
    # Sparse files: the size is what the bound is checked against, before a byte is read.
    at_bound, past = tmp_path / "at.csv", tmp_path / "past.csv"
    for path, size in ((at_bound, tabular.MAX_FILE_BYTES), (past, tabular.MAX_FILE_BYTES + 1)):
        with path.open("wb") as out:
            out.truncate(size)
    assert len(tabular.decode(at_bound)) == tabular.MAX_FILE_BYTES
    with pytest.raises(tabular.FileError) as refused:
        tabular.decode(past)
    assert (refused.value.line, str(refused.value)) == (1, "the file is larger than 20 MiB")
