"""Assets in and out of CSV and XLSX files, in one set of columns that round-trips.

Columns: name, address, platform, protocols ("ssh/22 sftp/22"), nodes (tree paths such as
"/Prod/DB", several separated by ";", created when missing), labels ("k:v" separated by ";"),
comment, is_active. Row numbers in the report count like a spreadsheet: the header is row 1.
An existing asset name updates that asset; empty cells keep its current values.

Export guards against formula injection: a cell starting with = + - @ tab or CR gets a
leading apostrophe (OWASP "CSV injection"), which import strips again.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.responses import Response
from tortoise.queryset import QuerySet

from webgate.api._base import Ctx, parse
from webgate.assets.rules import (
    AssetCreate,
    AssetPatch,
    check_node_name,
    format_protocols,
    parse_protocols,
)
from webgate.assets.tree import MAX_DEPTH, ancestor_ids, child_prefix
from webgate.db.models import Asset, Node
from webgate.errors import Conflict, TooLarge, ValidationFailed, WebgateError

COLUMNS = ("name", "address", "platform", "protocols", "nodes", "labels", "comment", "is_active")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


def guard(value: str) -> str:
    return "'" + value if value.startswith(_RISKY) else value


def unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_RISKY) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unguard(str(value).strip())


def read_rows(name: str, content: bytes) -> Iterator[dict[str, str]]:
    """Rows as {column: text}; a missing column is an empty cell. ValidationFailed on "file"."""
    if name.lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        table = _xlsx_rows(content)
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed({"file": "The CSV file is not UTF-8 text. Save it as \"CSV UTF-8\"."}) from None
        table = iter(csv.reader(io.StringIO(text)))
    header = [_text(h).lower() for h in next(table, [])]
    missing = [c for c in ("name", "address", "platform") if c not in header]
    if missing:
        raise ValidationFailed({"file": f"The first row must name the columns; missing: {', '.join(missing)}."})
    for cells in table:
        values = [_text(c) for c in cells]
        if any(values):
            yield {col: (values[i] if i < len(values) else "") for i, col in enumerate(header) if col in COLUMNS}
        else:
            yield {}


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the person
        raise ValidationFailed({"file": "This is not an Excel (.xlsx) file webgate can read."}) from None
    return (list(row) for row in book.worksheets[0].iter_rows(values_only=True))


def row_body(row: dict[str, str], existing: bool) -> dict[str, Any]:
    """The JSON body a row stands for; empty cells are left out (on update they keep values)."""
    data: dict[str, Any] = {k: row[k] for k in ("name", "address", "platform", "comment") if row.get(k)}
    if row.get("protocols"):
        data["protocols"] = parse_protocols(row["protocols"])
    if row.get("labels"):
        data["labels"] = [p for p in row["labels"].split(";") if p.strip()]
    flag = row.get("is_active", "").lower()
    if flag:
        if flag not in _TRUE | _FALSE:
            raise ValidationFailed({"is_active": "Write true or false."})
        data["is_active"] = flag in _TRUE
    return data


async def ensure_paths(ctx: Ctx, text: str, cache: dict[tuple[Any, str], Node]) -> list[Node]:
    """Nodes for "/Prod/DB;/Test", creating missing ones along each path."""
    out: list[Node] = []
    for raw in text.split(";"):
        parts = [p.strip() for p in raw.strip().split("/") if p.strip()]
        if not parts:
            continue
        if len(parts) > MAX_DEPTH:
            raise ValidationFailed({"nodes": f"A node path can be at most {MAX_DEPTH} levels deep."})
        parent: Node | None = None
        for part in parts:
            try:
                check_node_name(part)
            except ValidationFailed as exc:
                raise ValidationFailed({"nodes": exc.details["fields"]["name"]}) from None
            key = (parent.id if parent else None, part)
            node = cache.get(key) or await ctx.scoped(Node).filter(parent_id=key[0], name=part).first()
            if node is None:
                path = child_prefix(parent.path, parent.id) if parent else "/"
                node = await Node.create(org_id=ctx.require_org(), name=part, parent_id=key[0], path=path)
            cache[key] = parent = node
        assert parent is not None
        out.append(parent)
    return out


SaveAsset = Callable[..., Awaitable[tuple[Asset, dict[str, Any]]]]


async def read_upload(ctx: Ctx) -> tuple[str, bytes]:
    if int(ctx.request.headers.get("content-length") or 0) > MAX_BYTES + 64 * 1024:
        raise TooLarge(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files.")
    try:
        form = await ctx.request.form(max_files=1, max_fields=5)
    except Exception:  # noqa: BLE001 - a malformed multipart body
        raise ValidationFailed({"file": "Upload the file as multipart form data in a field named file."}) from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ValidationFailed({"file": "Choose a CSV or XLSX file to import."})
    content = await upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise TooLarge(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files.")
    return upload.filename or "", content


async def import_file(ctx: Ctx, save: SaveAsset, check_nodes: Callable[..., Awaitable[list[Node]]]) -> dict[str, Any]:
    ctx.require_org()
    name, content = await read_upload(ctx)
    report: dict[str, Any] = {"created": 0, "updated": 0, "failed": []}
    cache: dict[tuple[Any, str], Node] = {}
    for number, row in enumerate(read_rows(name, content), start=2):
        if not row:
            continue
        if number > MAX_ROWS + 1:
            report["failed"].append({"row": number, "errors": {"file": f"Only {MAX_ROWS} rows are read per file."}})
            break
        try:
            existing = await ctx.scoped(Asset).filter(name=row.get("name", "")).first() if row.get("name") else None
            body = parse(AssetPatch if existing else AssetCreate, row_body(row, existing is not None))
            nodes = await ensure_paths(ctx, row["nodes"], cache) if row.get("nodes") else (None if existing else [])
            await save(ctx, existing, body, nodes)
            report["updated" if existing else "created"] += 1
        except ValidationFailed as exc:
            report["failed"].append({"row": number, "errors": exc.details["fields"]})
        except Conflict as exc:
            report["failed"].append({"row": number, "errors": {exc.details.get("field", "name"): exc.message}})
        except WebgateError as exc:
            report["failed"].append({"row": number, "errors": {"row": exc.message}})
    return report


async def node_names(org_id: uuid.UUID | None) -> dict[uuid.UUID, str]:
    """Every node's name path ("/Prod/DB") in the org."""
    rows = {n.id: n for n in await Node.filter(org_id=org_id)} if org_id else {}
    out: dict[uuid.UUID, str] = {}
    for node_id, node in rows.items():
        names = [rows[i].name for i in ancestor_ids(node.path) if i in rows] + [node.name]
        out[node_id] = "/" + "/".join(names)
    return out


async def export_response(ctx: Ctx, qs: QuerySet[Asset]) -> Response:
    fmt = ctx.query("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": "Choose csv or xlsx."})
    assets = await qs.order_by("name")
    names = await node_names(ctx.org_id)
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    for node_id, asset_id in await Node.filter(org_id=ctx.org_id).values_list("id", "assets__id"):
        if asset_id is not None:
            nodes.setdefault(asset_id, []).append(node_id)
    rows = [[a.name, a.address, a.platform, format_protocols(a.protocols),
             ";".join(sorted(names.get(n, "") for n in nodes.get(a.id, []))), ";".join(a.labels), a.comment,
             "true" if a.is_active else "false"] for a in assets]
    rows = [[guard(cell) for cell in row] for row in rows]
    headers = {"Content-Disposition": f'attachment; filename="assets.{fmt}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        return Response(out.getvalue().encode(), media_type="text/csv; charset=utf-8", headers=headers)
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("assets")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return Response(buf.getvalue(), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
