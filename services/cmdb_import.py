"""Import and export of the CMDB as CSV, TOML or YAML. An import is all or nothing: a file
with any bad row changes nothing, and the report names each bad line."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.cmdb import NAME_MAX, CIRelation, CIStatus, CIType, ConfigItem, RelationKind
from services import cmdb
from services.errors import InvalidInput
from services.permissions import Actor, require_cmdb_editor
from services.tabular import (
    MAX_FILE_BYTES,
    FileError,
    RowError,
    decode,
    neutralise_cell,
    restore_cell,
)

try:  # YAML is optional: offered when pyyaml is installed.
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

KNOWN = ("name", "type", "owner", "team", "status", "supplier")
RELATIONS = ("depends_on", "runs_on")
COLUMNS = (*KNOWN, *RELATIONS, "attributes")
_SLACK_REF = re.compile(r"^[UWS][A-Z0-9]{2,}$")
# The longest each field may be: the columns' sizes (the name's is checked with its own words).
_FIELD_MAX = {"type": 20, "owner": 32, "team": 60, "status": 20, "supplier": 120}
# One attributes value (JSON) may be this long.
MAX_ATTRIBUTES_CHARS = 10_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # only the fields the row gives; absent ones are left as they are
    relations: dict[str, list[str]]


def formats() -> list[str]:
    """The file formats this installation reads and writes."""
    return ["csv", "toml", *(["yaml"] if yaml is not None else [])]


def import_file(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    path: str | Path | None = None,
    text: str | None = None,
    format: str | None = None,
) -> ImportReport:
    """Create and update items (and their relationships) from a file. Idempotent: the same file
    twice changes nothing the second time. Any bad row → nothing imported, every error listed.
    Only those who may change configuration items import (agents; the CLI acts as the system)."""
    require_cmdb_editor(actor)
    report = ImportReport()
    if path is not None:
        path = Path(path)
        format = format or path.suffix.lstrip(".").lower()
        try:
            text = decode(path)
        except FileError as error:
            report.errors.append(RowError(error.line, str(error)))
            return report
    if text is None:
        raise InvalidInput("Give a file or its text to import.")
    format = (format or "").lower()
    if format == "yml":
        format = "yaml"
    if format not in formats():
        raise InvalidInput(f"Import reads {', '.join(formats())} files, not '{format}'.")
    try:
        if len(text) > MAX_FILE_BYTES:
            raise FileError(1, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = text.removeprefix("\ufeff")  # a byte order mark some editors write
        if not text.strip():
            raise FileError(1, "the file is empty")
        if "\x00" in text:  # PostgreSQL stores no NUL in text: say where it is
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise FileError(line, "contains a NUL character; the file is probably not text")
        rows = {"csv": _csv_rows, "toml": _toml_rows, "yaml": _yaml_rows}[format](text)
    except FileError as error:
        report.errors.append(RowError(error.line, str(error)))
        return report
    report.errors = _validate(session, rows)
    if report.errors:
        return report
    _apply(session, rows, report, actor=actor, now=now)
    return report


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [cmdb.normalise_name(p) for p in value.split(";") if p.strip()]
    if isinstance(value, list):
        return [cmdb.normalise_name(str(p)) for p in value if str(p).strip()]
    return [cmdb.normalise_name(str(value))]


def _blank_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _csv_rows(text: str) -> list[_Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        return _read_csv(reader)
    except csv.Error as error:
        # Over the field size limit, a NUL byte, an unclosed quote…: say where, not how.
        raise FileError(reader.line_num or 1, f"not readable as CSV: {error}") from None


def _read_csv(reader: Any) -> list[_Row]:
    header = next(reader, None)
    if not header or "name" not in [h.strip().lower() for h in header]:
        raise FileError(1, "the first line must be a header with at least a 'name' column")
    columns = [h.strip().lower() for h in header]
    rows = []
    line = reader.line_num + 1
    for raw_cells in reader:
        cells = [restore_cell(cell) for cell in raw_cells]
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        values: dict[str, Any] = {}
        relations: dict[str, list[str]] = {}
        extra: dict[str, Any] = {}
        attributes_given = False
        for column, cell in zip(columns, cells, strict=False):
            if column in KNOWN:
                values[column] = _blank_none(cell)
            elif column in RELATIONS:
                relations[column] = _split(cell)
            elif column == "attributes":
                attributes_given = True
                if cell.strip():
                    try:
                        parsed = json.loads(cell)
                    except ValueError:
                        parsed = None
                    if not isinstance(parsed, dict):
                        values["__bad__"] = 'attributes must be a JSON object like {"rack": 1}'
                        continue
                    extra.update(parsed)
            elif cell.strip():
                # Any other column is a free attribute.
                extra[column] = cell.strip()
        if attributes_given or extra:
            values["attributes"] = extra
        rows.append(_Row(start, values, relations))
    return rows


def _mapping_rows(items: Any, lines: list[int]) -> list[_Row]:
    if not isinstance(items, list):
        raise FileError(1, "the file must hold a list of items under 'item'")
    rows = []
    for index, entry in enumerate(items):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(entry, dict):
            raise FileError(line, "each item must be a table of keys and values")
        values: dict[str, Any] = {}
        relations: dict[str, list[str]] = {}
        extra: dict[str, Any] = {}
        for key, value in entry.items():
            key = str(key).strip().lower()
            if key in KNOWN:
                if value is not None and not isinstance(value, str):
                    values["__bad__"] = f"{key} must be text, not {_kind_of(value)}"
                    continue
                values[key] = _blank_none(value)
            elif key in RELATIONS:
                names = value if isinstance(value, list) else [value]
                if not all(isinstance(n, str) for n in names if n is not None):
                    values["__bad__"] = f"{key} must be item names (text) or a list of them"
                    continue
                relations[key] = _split(value)
            elif key == "attributes":
                if not isinstance(value, dict):
                    values["__bad__"] = "attributes must be a table of keys and values"
                    continue
                extra.update(value)
            else:
                extra[key] = value
        if "attributes" in entry or extra:
            values["attributes"] = extra
        rows.append(_Row(line, values, relations))
    return rows


def _kind_of(value: Any) -> str:
    names = {list: "a list", dict: "a table", bool: "true/false", int: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


def _toml_rows(text: str) -> list[_Row]:
    try:
        data = tomllib.loads(text)
    except ValueError as error:  # TOMLDecodeError, and integers past Python's digit limit
        match = re.search(r"line (\d+)", str(error))
        raise FileError(int(match.group(1)) if match else 1, f"not valid TOML: {error}") from None
    # tomllib keeps no positions: the n-th [[item]] header is the n-th item.
    lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"^\s*\[\[\s*item\s*\]\]", line)
    ]
    return _mapping_rows(data.get("item", []), lines)


def _yaml_rows(text: str) -> list[_Row]:
    try:
        # Anchors and aliases have no use in a CMDB file, and aliases nested in aliases are
        # how a few lines expand to billions of values: refused before anything is built.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise FileError(
                    event.start_mark.line + 1, "YAML anchors and aliases (&, *) are not accepted"
                )
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise FileError(mark.line + 1 if mark else 1, f"not valid YAML: {error}") from None
    except ValueError as error:  # integers past Python's digit limit
        raise FileError(1, f"not valid YAML: {error}") from None
    lines: list[int] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == "item" and isinstance(value_node, yaml.SequenceNode):
                lines = [child.start_mark.line + 1 for child in value_node.value]
    return _mapping_rows((data or {}).get("item", []) if isinstance(data, dict) else data, lines)


def _validate(session: Session, rows: list[_Row]) -> list[RowError]:
    errors: list[RowError] = []
    in_file: dict[str, int] = {}
    for row in rows:
        name = cmdb.normalise_name(row.values.get("name") or "")
        row.values["name"] = name
        problems: list[str] = []
        if "__bad__" in row.values:
            problems.append(row.values.pop("__bad__"))
        if not name:
            problems.append("missing name")
        elif len(name) > NAME_MAX:
            problems.append(f"name longer than {NAME_MAX} characters")
        elif name.lower() in in_file:
            problems.append(f"'{name}' is already on line {in_file[name.lower()]}")
        else:
            in_file[name.lower()] = row.line
        kind = row.values.get("type")
        if kind is None:
            if name and cmdb.find_by_name(session, name=name) is None:
                problems.append("missing type")
        elif kind.lower() not in {t.value for t in CIType}:
            problems.append(f"unknown type '{kind}' (use {', '.join(t.value for t in CIType)})")
        status = row.values.get("status")
        if status is not None and status.lower() not in {s.value for s in CIStatus}:
            problems.append(f"bad status '{status}' (use {', '.join(s.value for s in CIStatus)})")
        for key, longest in _FIELD_MAX.items():
            given = row.values.get(key)
            if isinstance(given, str) and len(given) > longest:
                problems.append(f"{key} longer than {longest} characters")
        attributes = row.values.get("attributes")
        if attributes:
            try:
                size = len(json.dumps(attributes))
            except (TypeError, ValueError):
                problems.append("attributes must be text, numbers, true/false or lists of them")
            else:
                if size > MAX_ATTRIBUTES_CHARS:
                    problems.append(f"attributes longer than {MAX_ATTRIBUTES_CHARS} characters")
        owner = row.values.get("owner")
        if owner is not None and not _SLACK_REF.match(owner):
            problems.append(f"owner '{owner}' is not a Slack user id (U…) or user group id (S…)")
        errors.extend(RowError(row.line, p) for p in problems)
    known_in_db = _existing_names(
        session, {t.lower() for row in rows for ts in row.relations.values() for t in ts}
    )
    for row in rows:
        for relation, names in row.relations.items():
            for target in names:
                if target.lower() not in in_file and target.lower() not in known_in_db:
                    errors.append(
                        RowError(
                            row.line,
                            f"{relation} '{target}' is neither in the file nor in the CMDB",
                        )
                    )
                elif target.lower() == row.values["name"].lower():
                    errors.append(RowError(row.line, f"{relation} names the item itself"))
    return sorted(errors, key=lambda e: e.line)


def _existing_names(session: Session, lowered: set[str]) -> set[str]:
    if not lowered:
        return set()
    statement = select(ConfigItem.name_lower).where(col(ConfigItem.name_lower).in_(lowered))
    return set(session.exec(statement))


def _apply(
    session: Session, rows: list[_Row], report: ImportReport, *, actor: Actor, now: datetime
) -> None:
    items: dict[str, ConfigItem] = {}
    touched: dict[str, bool] = {}
    created: set[str] = set()
    # Items first, so that relationships may point at items further down the file.
    for row in rows:
        values = row.values
        item = cmdb.find_by_name(session, name=values["name"])
        if item is None:
            item = cmdb.create_item(
                session,
                name=values["name"],
                type=values["type"],
                actor=actor,
                now=now,
                owner=values.get("owner"),
                team=values.get("team"),
                status=values.get("status") or CIStatus.LIVE,
                supplier=values.get("supplier"),
                attributes=values.get("attributes"),
            )
            created.add(item.name_lower)
            touched[item.name_lower] = True
        else:
            changes = {k: v for k, v in values.items() if k in cmdb.FIELDS}
            if "status" in changes and changes["status"] is None:
                changes.pop("status")
            if "type" in changes and changes["type"] is None:
                changes.pop("type")
            changed = cmdb.update_item(session, item=item, changes=changes, actor=actor, now=now)
            touched[item.name_lower] = bool(changed)
        items[item.name_lower] = item
    session.flush()
    for row in rows:
        item = items[row.values["name"].lower()]
        for relation, names in row.relations.items():
            kind = RelationKind(relation)
            wanted = {n.lower() for n in names}
            current = {t.name_lower: t for t in cmdb.targets(session, item=item, kind=kind)}
            for lowered in sorted(wanted - current.keys()):
                target = items.get(lowered) or cmdb.find_by_name(session, name=lowered)
                assert target is not None  # validated above
                cmdb.relate(session, source=item, kind=kind, target=target, actor=actor, now=now)
                touched[item.name_lower] = True
            # The file lists all of an item's relationships of a kind it mentions.
            for lowered in sorted(current.keys() - wanted):
                cmdb.unrelate(
                    session, source=item, kind=kind, target=current[lowered], actor=actor, now=now
                )
                touched[item.name_lower] = True
    for lowered, changed in touched.items():
        if lowered in created:
            report.created += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1


def export(session: Session, *, format: str) -> str:
    """The whole CMDB as CSV or TOML (or YAML), in a form `import_file` reads back unchanged."""
    format = format.lower()
    items = list(session.exec(select(ConfigItem).order_by(col(ConfigItem.name_lower))))
    names = {item.id: item.name for item in items}
    relations: dict[tuple[int, str], list[str]] = {}
    for rel in session.exec(select(CIRelation)):
        relations.setdefault((rel.source_id, rel.kind), []).append(names[rel.target_id])
    records = []
    for item in items:
        record: dict[str, Any] = {
            "name": item.name,
            "type": item.type,
            "owner": item.owner,
            "team": item.team,
            "status": item.status,
            "supplier": item.supplier,
        }
        for relation in RELATIONS:
            record[relation] = sorted(relations.get((item.id, relation), []), key=str.lower)
        record["attributes"] = cmdb.attributes_of(item)
        records.append(record)
    if format == "csv":
        return _csv_text(records)
    if format == "toml":
        return _toml_text(records)
    if format in ("yaml", "yml") and yaml is not None:
        cleaned = [{k: v for k, v in r.items() if v not in (None, [], {})} for r in records]
        return yaml.safe_dump({"item": cleaned}, sort_keys=False, allow_unicode=True)
    raise InvalidInput(f"Export writes {', '.join(formats())} files, not '{format}'.")


def _csv_text(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # A carriage return inside a cell is only read back when the cell is quoted, which the
    # minimal quoting does not do for it (the line ends are "\n"): such rows quote every cell.
    quoting_all = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for record in records:
        cells = [
            *(record[k] or "" for k in KNOWN),
            *(";".join(record[r]) for r in RELATIONS),
            json.dumps(record["attributes"], sort_keys=True, ensure_ascii=False)
            if record["attributes"]
            else "",
        ]
        row = [neutralise_cell(cell) for cell in cells]
        (quoting_all if any("\r" in cell for cell in row) else writer).writerow(row)
    return out.getvalue()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(value.items()))
        return "{ " + inner + " }" if inner else "{}"
    # JSON string escaping is valid TOML basic-string escaping.
    return json.dumps(str(value), ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_text(records: list[dict[str, Any]]) -> str:
    blocks = []
    for record in records:
        lines = ["[[item]]"]
        for key, value in record.items():
            if value is None or value == [] or value == {}:
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
