"""The CMDB against a real database: import, export, search, impact analysis."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from models.audit import AuditEntry
from models.cmdb import CIType, ConfigItem, RelationKind
from models.policy import Policy
from services import cmdb, cmdb_import
from tests.permissions_support import editor

CSV = """name,type,owner,team,status,supplier,depends_on,runs_on,rack
Payments,service,S0PAY,payments,live,,Payments API,,
Payments API,application,U0ALICE,payments,live,,Ledger DB,app-01,
Ledger DB,database,,dba,live,Acme DB Corp,,db-01,B2
app-01,server,,infra,live,,,,A3
db-01,server,,infra,live,,,,A4
"""


def _audit_count(session) -> int:
    return len(list(session.exec(select(AuditEntry))))


def test_import_twice_changes_nothing_the_second_time(database, clock):
    with database.session() as session:
        report = cmdb_import.import_file(
            session, text=CSV, format="csv", actor=editor("U0ADMIN"), now=clock.now()
        )
    assert report.ok, report.errors
    assert (report.created, report.updated) == (5, 0)
    with database.session() as session:
        first = _audit_count(session)
        api = cmdb.find_by_name(session, name="payments api")
        assert api is not None and api.owner == "U0ALICE"
        view = cmdb.show(session, key=api.key)
        assert [i.name for i in view.depends_on] == ["Ledger DB"]
        assert [i.name for i in view.runs_on] == ["app-01"]
        assert [i.name for i in view.used_by] == ["Payments"]
        ledger = cmdb.find_by_name(session, name="Ledger DB")
        assert cmdb.attributes_of(ledger) == {"rack": "B2"}
    clock.advance(timedelta(hours=1)) if hasattr(clock, "advance") else None
    with database.session() as session:
        again = cmdb_import.import_file(
            session, text=CSV, format="csv", actor=editor("U0ADMIN"), now=clock.now()
        )
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 5)
    with database.session() as session:
        assert _audit_count(session) == first


def test_changed_row_updates_and_audits_each_field(database, clock):
    with database.session() as session:
        cmdb_import.import_file(
            session, text=CSV, format="csv", actor=editor("U0ADMIN"), now=clock.now()
        )
    changed = CSV.replace(
        "Ledger DB,database,,dba,live,Acme DB Corp", "Ledger DB,database,,dba,retired,Initech"
    )
    with database.session() as session:
        report = cmdb_import.import_file(
            session, text=changed, format="csv", actor=editor("U0BOB"), now=clock.now()
        )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    with database.session() as session:
        ledger = cmdb.find_by_name(session, name="ledger db")
        assert (ledger.status, ledger.supplier) == ("retired", "Initech")
        updates = [
            (e.field, e.from_value, e.to_value)
            for e in cmdb_audit(session, ledger.key)
            if e.actor == "U0BOB"
        ]
    assert updates == [("status", "live", "retired"), ("supplier", "Acme DB Corp", "Initech")]


def cmdb_audit(session, key):
    from services import audit

    return audit.trail(session, key=key)


def test_file_with_a_bad_row_imports_nothing_and_names_the_lines(database, clock):
    bad = (
        "name,type,status,depends_on\n"
        "Good,service,live,\n"
        ",server,live,\n"
        "Odd,gizmo,live,\n"
        "Good,server,live,\n"
        "Late,server,someday,\n"
        "Lost,service,live,Nowhere\n"
    )
    with database.session() as session:
        report = cmdb_import.import_file(
            session, text=bad, format="csv", actor=editor("U0ADMIN"), now=clock.now()
        )
    assert not report.ok
    by_line = {(e.line, e.message.split(" ")[0]) for e in report.errors}
    assert (3, "missing") in by_line
    assert (4, "unknown") in by_line
    assert (5, "'Good'") in by_line
    assert (6, "bad") in by_line
    assert (7, "depends_on") in by_line
    assert report.created == 0
    with database.session() as session:
        assert session.exec(select(ConfigItem)).first() is None


def test_toml_line_numbers_and_relations_to_items_already_in_the_db(database, clock):
    with database.session() as session:
        cmdb.create_item(
            session, name="Core Switch", type="network", actor=editor("U0A"), now=clock.now()
        )
    toml = (
        '[[item]]\nname = "Wifi"\ntype = "service"\ndepends_on = ["core switch"]\n\n'
        '[[item]]\nname = "Broken"\ntype = "service"\nstatus = "dead"\n'
    )
    with database.session() as session:
        report = cmdb_import.import_file(
            session, text=toml, format="toml", actor=editor("U0ADMIN"), now=clock.now()
        )
    assert [(e.line, e.message.split(" ")[0]) for e in report.errors] == [(6, "bad")]
    fixed = toml.replace('status = "dead"', 'status = "planned"')
    with database.session() as session:
        report = cmdb_import.import_file(
            session, text=fixed, format="toml", actor=editor("U0ADMIN"), now=clock.now()
        )
        assert report.ok and report.created == 2
        wifi = cmdb.find_by_name(session, name="wifi")
        assert [i.name for i in cmdb.targets(session, item=wifi, kind=RelationKind.DEPENDS_ON)] == [
            "Core Switch"
        ]


def test_export_round_trips_through_import(database, clock, tmp_path):
    with database.session() as session:
        cmdb_import.import_file(
            session, text=CSV, format="csv", actor=editor("U0ADMIN"), now=clock.now()
        )
        item = cmdb.find_by_name(session, name="app-01")
        cmdb.update_item(
            session,
            item=item,
            changes={"attributes": {"rack": "A3", "cores": 16, "tags": ["x"]}},
            actor=editor("U0ADMIN"),
            now=clock.now(),
        )
    for format in cmdb_import.formats():
        with database.session() as session:
            exported = cmdb_import.export(session, format=format)
            before = _audit_count(session)
            report = cmdb_import.import_file(
                session, text=exported, format=format, actor=editor("U0ADMIN"), now=clock.now()
            )
            assert report.ok, (format, report.errors)
            assert (report.created, report.updated, report.unchanged) == (0, 0, 5), format
            assert _audit_count(session) == before
            assert cmdb_import.export(session, format=format) == exported
        # And into an empty CMDB it rebuilds the same content.
    with database.session() as session:
        exported = cmdb_import.export(session, format="toml")
    path = tmp_path / "cmdb.toml"
    path.write_text(exported)
    with database.session() as session:
        session.execute(ConfigItem.__table__.delete())
        report = cmdb_import.import_file(
            session, path=path, actor=editor("U0ADMIN"), now=clock.now()
        )
        assert report.ok and report.created == 5
        assert cmdb_import.export(session, format="toml") == exported


def test_impact_analysis_through_a_chain_and_a_cycle(database, clock):
    now = clock.now()
    with database.session() as session:
        make = {}
        for name, kind in [
            ("Shop", "service"),
            ("Search", "service"),
            ("Shop App", "application"),
            ("Search App", "application"),
            ("Cache", "application"),
            ("Host 1", "server"),
        ]:
            make[name] = cmdb.create_item(
                session, name=name, type=kind, actor=editor("U0A"), now=now
            )
        rel = RelationKind

        def r(a, kind, b):
            cmdb.relate(
                session, source=make[a], kind=kind, target=make[b], actor=editor("U0A"), now=now
            )

        r("Shop", rel.DEPENDS_ON, "Shop App")
        r("Shop App", rel.DEPENDS_ON, "Cache")
        r("Search", rel.DEPENDS_ON, "Search App")
        r("Search App", rel.RUNS_ON, "Host 1")
        r("Cache", rel.RUNS_ON, "Host 1")
        # A cycle: the cache depends on the shop app which depends on the cache.
        r("Cache", rel.DEPENDS_ON, "Shop App")
        keys = {name: item.key for name, item in make.items()}
    with database.session() as session:
        names = [i.name for i in cmdb.affected_services(session, key=keys["Host 1"])]
        assert names == ["Search", "Shop"]
        assert [i.name for i in cmdb.affected_services(session, key=keys["Cache"])] == ["Shop"]
        assert [i.name for i in cmdb.affected_services(session, key=keys["Shop"])] == ["Shop"]
        assert [i.name for i in cmdb.show(session, key=keys["Host 1"]).hosts] == [
            "Cache",
            "Search App",
        ]


def test_search_prefix_first_then_substring_among_50000_items(database, clock):
    now = clock.now()
    rows = [
        {
            "name": f"Host {n:05d}",
            "name_lower": f"host {n:05d}",
            "type": "server",
            "status": "live",
            "attributes": "{}",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(50_000)
    ]
    rows += [
        {
            "name": n,
            "name_lower": n.lower(),
            "type": t,
            "status": "live",
            "attributes": "{}",
            "created_at": now,
            "updated_at": now,
        }
        for n, t in [
            ("Payroll", "service"),
            ("Pay API", "application"),
            ("Old payments", "service"),
        ]
    ]
    with database.session() as session:
        session.execute(insert(ConfigItem), rows)
    with database.session() as session:
        assert [i.name for i in cmdb.search(session, text="PAY")] == [
            "Pay API",
            "Payroll",
            "Old payments",
        ]
        assert [i.name for i in cmdb.search(session, text="pay", types=[CIType.SERVICE])] == [
            "Payroll",
            "Old payments",
        ]
        hosts = cmdb.search(session, text="host 0012", limit=5)
        assert [i.name for i in hosts] == [f"Host 0012{d}" for d in range(5)]
        assert len(cmdb.search(session, text="host", limit=25)) == 25
        assert [i.name for i in cmdb.search(session, text="st 4999")] == [
            f"Host 4999{d}" for d in range(10)
        ]
        assert cmdb.search(session, text="100%") == []


def test_policy_services_become_items_once(database, clock):
    policy = Policy.model_validate(
        {"teams": [{"name": "web"}], "services": [{"name": "Website", "team": "web"}]}
    )
    with database.session() as session:
        assert [
            i.name for i in cmdb.sync_policy_services(session, policy=policy, now=clock.now())
        ] == ["Website"]
        assert cmdb.sync_policy_services(session, policy=policy, now=clock.now()) == []
        item = cmdb.find_by_name(session, name="WEBSITE")
        assert (item.type, item.team) == ("service", "web")
