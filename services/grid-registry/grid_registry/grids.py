"""Use cases for the grid tree: read, search, create, rename, split/merge, import, snapshot.

Every change writes a history row (the grid as it now is, numbered by version)
and an event through the outbox, in the same transaction as the change.
Geometry rules (valid shapes, children inside parents, no overlapping siblings,
complete coverage) are checked by validation.py on plain data before anything
is written; a rejected change writes nothing.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

from envgrid_contracts.grid import GRID_CREATED, GRID_RETIRED, GRID_UPDATED
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.tables import utcnow

from . import levels
from .models import grid_history, grids
from .people import active_memberships, membership_view, move_memberships
from .publishing import OUTBOX
from .text import is_pinyin_query, pinyin_keys
from .ledger import move_sources
from .validation import containing_parent, same_area, straddling_children, validate_import

# Problems that a change of one grid may leave for later: while a district is being
# drawn grid by grid its parents are not yet covered. Imports check coverage in full,
# and GET /reports/coverage shows what is still uncovered.
DEFERRED_PROBLEMS = {"coverage_gap", "no_children"}


def _fields(row):
    """Column values of a result row, or a dict of them (rows about to be inserted)."""
    return row if isinstance(row, Mapping) else row._mapping


def state(row) -> dict:
    r = _fields(row)
    return {"code": r["code"], "name": r["name"], "level": r["level"], "parent_code": r["parent_code"],
            "kind": r["kind"], "status": r["status"], "version": r["version"]}


def view(row, with_boundary: bool = False) -> dict:
    r = _fields(row)
    data = state(r) | {
        "level_name": levels.LEVEL_NAMES[r["level"]],
        "kind_name": levels.KINDS.get(r["level"], {}).get(r["kind"], r["kind"]),
        "four_sides": r["four_sides"], "address": r["address"],
        "replaced_by": r["replaced_by"] or [], "updated_at": r["updated_at"].isoformat()}
    if with_boundary:
        data["boundary"] = json.loads(r["boundary"])
    return data


def feature(row) -> dict:
    """The grid as a GeoJSON Feature, the form imports take and exports give."""
    return {"type": "Feature", "geometry": json.loads(row.boundary), "properties": {
        "code": row.code, "name": row.name, "level": row.level, "parent_code": row.parent_code,
        "kind": row.kind, "four_sides": row.four_sides, "address": row.address, "status": row.status}}


def get(session: Session, code: str):
    row = session.execute(select(grids).where(grids.c.code == code)).first()
    if row is None:
        raise ApiError(404, f"no grid {code}")
    return row


def ancestors(session: Session, row) -> list:
    chain = []
    while row.parent_code:
        row = get(session, row.parent_code)
        chain.append(row)
    return list(reversed(chain))


def detail(session: Session, code: str, with_boundary: bool = False) -> dict:
    row = get(session, code)
    children = session.execute(select(grids).where(grids.c.parent_code == code, grids.c.status == "active")
                               .order_by(grids.c.code)).all()
    return view(row, with_boundary) | {
        "ancestors": [{"code": a.code, "name": a.name, "level": a.level} for a in ancestors(session, row)],
        "children": [{"code": c.code, "name": c.name, "level": c.level, "kind": c.kind} for c in children],
        "members": [membership_view(m) for m in active_memberships(session, grid_code=code)],
    }


def subtree(session: Session, code: str, include_retired: bool = False) -> list[str]:
    get(session, code)
    query = select(grids.c.code).where(grids.c.code.startswith(code, autoescape=True)).order_by(grids.c.code)
    if not include_retired:
        query = query.where(grids.c.status == "active")
    return session.execute(query).scalars().all()


def search(session: Session, params: dict) -> dict:
    query = select(grids)
    if params["status"] != "all":
        query = query.where(grids.c.status == params["status"])
    if params["level"]:
        query = query.where(grids.c.level == params["level"])
    if params["parent"]:
        query = query.where(grids.c.code.startswith(params["parent"], autoescape=True))
    q = params["q"]
    if q:
        if q.isdigit():
            query = query.where(grids.c.code.startswith(q, autoescape=True))
        elif is_pinyin_query(q):
            low = q.lower()
            query = query.where(or_(grids.c.name_initials.startswith(low, autoescape=True),
                                    grids.c.name_pinyin.contains(low, autoescape=True)))
        else:
            query = query.where(grids.c.name.contains(q, autoescape=True))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(grids.c.level, grids.c.code)
                           .limit(params["limit"]).offset(params["offset"])).all()
    return {"total": total, "items": [view(r) for r in rows]}


def snapshot(session: Session, after: str, limit: int) -> dict:
    """A page of every grid (active and retired) with its leaders, for a consumer that starts empty.

    Pages are keyed by code, so a consumer resumes with `after=<last code>` and
    sees a consistent order however the registry changes meanwhile; the version
    of each grid lets it ignore an event older than the snapshot row it holds.
    """
    rows = session.execute(select(grids).where(grids.c.code > after).order_by(grids.c.code).limit(limit)).all()
    items = []
    for row in rows:
        items.append(state(row) | {"replaced_by": row.replaced_by or [], "members": [
            membership_view(m) for m in active_memberships(session, grid_code=row.code)]})
    return {"items": items, "next_after": rows[-1].code if len(rows) == limit else None}


# -- writes ----------------------------------------------------------------
def _record(session: Session, row, change: str, actor: str) -> None:
    session.execute(insert(grid_history).values(
        code=row.code, version=row.version, change=change, state=view(row, with_boundary=True),
        actor=actor, at=row.updated_at))


def _insert_many(session: Session, items: list[tuple[dict, dict]], actor: str) -> list[dict]:
    """Register new grids (properties, geometry) with their history and events, a level at a time.

    Bulk statements: a whole district is thousands of grids, and a round trip per
    row would make an import minutes long on a remote database.
    """
    now = utcnow()
    values = []
    for props, geometry in items:
        full, initials = pinyin_keys(props["name"])
        values.append({
            "code": props["code"], "name": props["name"], "level": levels.level_of_code(props["code"]),
            "parent_code": props.get("parent_code"), "kind": props["kind"],
            "boundary": json.dumps(geometry, ensure_ascii=False, separators=(",", ":")),
            "four_sides": props.get("four_sides") or {"east": "", "south": "", "west": "", "north": ""},
            "address": props.get("address"), "status": "active", "replaced_by": None, "retire_reason": None,
            "name_pinyin": full, "name_initials": initials, "version": 1, "created_at": now, "updated_at": now})
    for level in sorted({v["level"] for v in values}):  # parents before children (foreign keys)
        session.execute(insert(grids), [v for v in values if v["level"] == level])
    if values:
        session.execute(insert(grid_history), [
            {"code": v["code"], "version": 1, "change": "created", "state": view(v, with_boundary=True),
             "actor": actor, "at": now} for v in values])
    OUTBOX.add_many(session, [(GRID_CREATED, state(v)) for v in values])
    return values


def _insert(session: Session, props: dict, geometry: dict, actor: str):
    _insert_many(session, [(props, geometry)], actor)
    return get(session, props["code"])


def _update(session: Session, row, values: dict, actor: str, change: str = "updated"):
    changed = sorted(k for k, v in values.items() if row._mapping.get(k) != v)
    if not changed:
        return row, []
    if "name" in values:
        values["name_pinyin"], values["name_initials"] = pinyin_keys(values["name"])
    session.execute(update(grids).where(grids.c.code == row.code).values(
        **values, version=row.version + 1, updated_at=utcnow()))
    row = get(session, row.code)
    _record(session, row, change, actor)
    return row, changed


def _context(session: Session, parent_codes: set[str]) -> list[dict]:
    """The registered grids a change must be checked against: the parents and their active children."""
    if not parent_codes:
        return []
    rows = session.execute(select(grids).where(grids.c.status == "active", or_(
        grids.c.code.in_(parent_codes), grids.c.parent_code.in_(parent_codes)))).all()
    return [feature(r) for r in rows]


def _reject(problems: list[dict], message: str) -> None:
    raise ApiError(422, message, fields={"problems": problems}, extra={"problems": problems})


def create(session: Session, data: dict, actor: str) -> dict:
    props = {k: data[k] for k in ("code", "name", "kind", "parent_code", "four_sides", "address")}
    props["level"] = levels.level_of_code(data["code"])
    if session.execute(select(grids.c.code).where(grids.c.code == data["code"])).first():
        raise ApiError(409, f"grid {data['code']} exists", fields={"code": ["already registered"]})
    parent = props["parent_code"]
    if parent:
        row = session.execute(select(grids.c.status).where(grids.c.code == parent)).first()
        if row is not None and row.status != "active":
            raise ApiError(422, f"parent {parent} is retired", fields={"parent_code": ["retired grid"]})
    collection = {"type": "FeatureCollection",
                  "features": [{"type": "Feature", "geometry": data["boundary"], "properties": props}]}
    problems = [p for p in validate_import(collection, existing=_context(session, {parent} if parent else set()))
                if p["problem"] not in DEFERRED_PROBLEMS]
    if problems:
        _reject(problems, f"grid {data['code']} cannot be created: {problems[0]['message']}")
    return view(_insert(session, props, data["boundary"], actor))


def change(session: Session, code: str, changes: dict, actor: str) -> dict:
    row = get(session, code)
    if row.status != "active":
        raise ApiError(422, f"grid {code} is retired and cannot change")
    if "kind" in changes and changes["kind"] not in levels.KINDS[row.level]:
        raise ApiError(422, f"kind {changes['kind']} does not exist at level {row.level}",
                       fields={"kind": [f"one of {', '.join(levels.KINDS[row.level])}"]})
    row, changed = _update(session, row, dict(changes), actor)
    if changed:
        OUTBOX.add(session, GRID_UPDATED, state(row) | {"changed": changed})
    return view(row)


def _retire(session: Session, row, replaced_by: list[str], reason: str, actor: str) -> None:
    row, _ = _update(session, row, {"status": "retired", "replaced_by": replaced_by, "retire_reason": reason},
                     actor, change="retired")
    OUTBOX.add(session, GRID_RETIRED, state(row) | {"replaced_by": replaced_by, "reason": reason})


def reorganise(session: Session, data: dict, actor: str) -> dict:
    """Split or merge grids of one parent: the new grids must cover exactly the area of the old.

    The old grids are retired (kept, pointing at their successors, so old cases
    still find them); their points and people move to whichever new grid holds them.
    """
    old = [get(session, code) for code in data["retire"]]
    problems = []
    for row in old:
        if row.status != "active":
            problems.append({"feature": None, "code": row.code, "problem": "retired",
                             "message": f"{row.code} is already retired"})
    if len({r.parent_code for r in old}) != 1 or len({r.level for r in old}) != 1:
        problems.append({"feature": None, "code": None, "problem": "mixed_parents",
                         "message": "grids reorganised together must share one parent and level"})
    if problems:
        _reject(problems, "reorganisation refused")
    parent, level = old[0].parent_code, old[0].level
    new = data["create"]
    for i, item in enumerate(new):
        if item["parent_code"] != parent or levels.level_of_code(item["code"]) != level:
            problems.append({"feature": i, "code": item["code"], "problem": "wrong_parent",
                             "message": f"new grids must be level {level} under {parent}"})
        if session.execute(select(grids.c.code).where(grids.c.code == item["code"])).first():
            problems.append({"feature": i, "code": item["code"], "problem": "duplicate_code",
                             "message": f"{item['code']} is already registered"})
    if problems:
        _reject(problems, "reorganisation refused")

    # Check the grids as they will be: the parent's children minus the old plus the new.
    retiring = {r.code for r in old}
    context = [f for f in _context(session, {parent} if parent else set())
               if f["properties"]["code"] not in retiring]
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": item["boundary"],
         "properties": {**{k: item[k] for k in ("code", "name", "kind", "parent_code", "four_sides", "address")},
                        "level": level}} for item in new]}
    problems = [p for p in validate_import(collection, existing=context) if p["problem"] not in DEFERRED_PROBLEMS]
    # The new grids must cover exactly the old area (so the parent's coverage is as it was),
    # and every point or area inside the old grids must fall wholly inside one new grid.
    mismatch = same_area([json.loads(r.boundary) for r in old], [item["boundary"] for item in new])
    if mismatch:
        problems.append(mismatch)
    children = session.execute(select(grids.c.code, grids.c.boundary).where(
        grids.c.parent_code.in_(retiring), grids.c.status == "active")).all()
    problems += straddling_children([(c.code, json.loads(c.boundary)) for c in children],
                                    [(item["code"], item["boundary"]) for item in new])
    if problems:
        _reject(problems, "reorganisation refused")

    created = [_insert(session, {k: item[k] for k in ("code", "name", "kind", "parent_code", "four_sides",
                                                       "address")}, item["boundary"], actor) for item in new]
    new_codes = [r.code for r in created]
    for row in old:
        _move_descendants(session, row, created, actor)
        # A merged grid's people lead the merged one; a split grid's people lead every part
        # until the district names new people: no part is left without a leader.
        move_memberships(session, row.code, new_codes)
        _retire(session, row, new_codes, data["reason"], actor)
    return {"retired": sorted(retiring), "created": new_codes}


def _move_descendants(session: Session, old_parent, new_parents: list, actor: str) -> None:
    """Re-create the active children of a retiring grid under the new grid holding each.

    Codes are hierarchical, so a child that changes parent gets a new code; the
    old one is retired pointing at it. People's roles move with it.
    """
    children = session.execute(select(grids).where(grids.c.parent_code == old_parent.code,
                                                   grids.c.status == "active").order_by(grids.c.code)).all()
    for child in children:
        target = containing_parent(json.loads(child.boundary), [(p.code, json.loads(p.boundary)) for p in new_parents])
        index = session.execute(select(func.count()).select_from(grids).where(grids.c.parent_code == target)).scalar_one()
        new_code = levels.child_code(target, index + 1)
        props = {"code": new_code, "name": child.name, "kind": child.kind, "parent_code": target,
                 "four_sides": child.four_sides, "address": child.address}
        moved = _insert(session, props, json.loads(child.boundary), actor)
        _move_descendants(session, child, [moved], actor)
        move_memberships(session, child.code, [new_code])
        move_sources(session, child.code, new_code, actor)
        _retire(session, child, [new_code], f"上级网格调整: {old_parent.code}", actor)


def import_collection(session: Session, collection: dict, actor: str, dry_run: bool = False) -> dict:
    """Create or update every feature of a FeatureCollection, or nothing if any problem is found."""
    codes = [((f or {}).get("properties") or {}).get("code") for f in collection.get("features") or []]
    codes = [c for c in codes if isinstance(c, str)]
    existing_rows = session.execute(select(grids).where(grids.c.status == "active")).all()
    incoming = set(codes)
    context = [feature(r) for r in existing_rows if r.code not in incoming]
    problems = validate_import(collection, existing=context)
    if problems:
        _reject(problems, f"{len(problems)} problem(s) in the import; nothing was changed")
    known = {r.code: r for r in session.execute(select(grids).where(grids.c.code.in_(incoming))).all()} if incoming else {}
    created = updated = 0
    if not dry_run:
        fresh = [(item["properties"], item["geometry"]) for item in collection["features"]
                 if item["properties"]["code"] not in known]
        created = len(_insert_many(session, fresh, actor))
        for item in collection["features"]:
            props, geometry = item["properties"], item["geometry"]
            row = known.get(props["code"])
            if row is None:
                continue
            values = {"name": props["name"], "kind": props["kind"],
                      "boundary": json.dumps(geometry, ensure_ascii=False, separators=(",", ":")),
                      "four_sides": props.get("four_sides") or row.four_sides,
                      "address": props.get("address")}
            new_row, changed = _update(session, row, values, actor)
            if changed:
                OUTBOX.add(session, GRID_UPDATED, state(new_row) | {"changed": changed})
                updated += 1
    return {"features": len(codes), "created": created, "updated": updated, "dry_run": dry_run, "problems": []}


def export_collection(session: Session, root: str, level: int | None) -> dict:
    query = select(grids).where(grids.c.status == "active", grids.c.code.startswith(root, autoescape=True))
    if level:
        query = query.where(grids.c.level == level)
    rows = session.execute(query.order_by(grids.c.level, grids.c.code)).all()
    return {"type": "FeatureCollection", "features": [feature(r) for r in rows]}


def coverage_report(session: Session) -> list[dict]:
    """Problems of the registered grid as it stands (gaps included): 全覆盖、无死角 at a glance."""
    collection = export_collection(session, levels.DISTRICT_CODE, None)
    return validate_import(collection, existing=[])


def active_records(session: Session) -> list[dict]:
    """What the locator is built from: active grids only, so a retired grid never receives a report."""
    rows = session.execute(select(grids.c.code, grids.c.name, grids.c.level, grids.c.parent_code, grids.c.boundary)
                           .where(grids.c.status == "active")).all()
    return [{"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
             "geometry": json.loads(r.boundary)} for r in rows]
