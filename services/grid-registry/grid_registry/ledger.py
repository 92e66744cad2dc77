"""The pollution-source ledger (污染源台账): sources attached to grid points, with a dated history.

Sources attach to a level-5 point, or to a level-4 grid for diffuse ones (a
street of small eateries, a coal-selling area). Every change is a new version
with who, when and why; nothing is overwritten without a trace.
"""
from __future__ import annotations

import uuid

from envgrid_contracts.grid import SOURCE_REGISTERED, SOURCE_UPDATED
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from .defaults import SOURCE_KINDS, SOURCE_STATUSES
from .models import grids, source_history, sources
from .publishing import OUTBOX

FIELDS = ("grid_code", "name", "kind", "pollutants", "equipment", "permit_no", "permit_valid_until",
          "responsible_person", "responsible_phone", "status", "address")

EXPORT_HEADERS = ["台账编号", "所属网格", "网格名称", "污染源名称", "类型", "污染物", "治理设施", "设施运行",
                  "排污许可证号", "许可证有效期至", "责任人", "联系电话", "状态", "地址", "版本", "更新时间"]


def _check_grid(session: Session, code: str, actor: Identity) -> None:
    grid = session.execute(select(grids.c.level, grids.c.status).where(grids.c.code == code)).first()
    if grid is None:
        raise ApiError(422, f"unknown grid {code}", fields={"grid_code": ["unknown grid"]})
    if grid.status != "active":
        raise ApiError(422, f"grid {code} is retired", fields={"grid_code": ["retired grid"]})
    if grid.level not in (4, 5):
        raise ApiError(422, "a source belongs to a level-5 point, or a level-4 grid when diffuse",
                       fields={"grid_code": [f"level {grid.level} grid"]})
    if not actor.covers(code):
        raise ApiError(403, f"grid {code} is outside your grids")


def _state(row) -> dict:
    return {f: (row._mapping[f].isoformat() if f == "permit_valid_until" and row._mapping[f] else row._mapping[f])
            for f in FIELDS}


def view(row) -> dict:
    return {"source_id": row.source_id, **_state(row), "kind_name": SOURCE_KINDS[row.kind],
            "status_name": SOURCE_STATUSES[row.status], "version": row.version,
            "updated_at": row.updated_at.isoformat()}


def _event(session: Session, event_type: str, row, changed=None) -> None:
    data = {"source_id": row.source_id, "grid_code": row.grid_code, "name": row.name, "kind": row.kind,
            "status": row.status, "pollutants": list(row.pollutants), "version": row.version}
    if changed is not None:
        data["changed"] = changed
    OUTBOX.add(session, event_type, data)


def get(session: Session, source_id: str, actor: Identity):
    row = session.execute(select(sources).where(sources.c.source_id == source_id)).first()
    if row is None or not actor.covers(row.grid_code):
        raise ApiError(404, f"no source {source_id}")  # outside one's scope is as good as absent
    return row


def register(session: Session, data: dict, actor: Identity) -> dict:
    _check_grid(session, data["grid_code"], actor)
    now = utcnow()
    source_id = "S" + uuid.uuid4().hex[:12].upper()
    session.execute(insert(sources).values(source_id=source_id, **data, version=1, created_at=now, updated_at=now))
    row = get(session, source_id, actor)
    session.execute(insert(source_history).values(
        source_id=source_id, version=1, state=_state(row), changed=list(FIELDS), note="登记",
        actor=actor.subject, at=now))
    _event(session, SOURCE_REGISTERED, row)
    return view(row)


def change(session: Session, source_id: str, changes: dict, actor: Identity) -> dict:
    row = get(session, source_id, actor)
    note, seen_version = changes.pop("note"), changes.pop("version")
    if seen_version != row.version:
        raise ApiError(409, f"source changed since version {seen_version} (now {row.version}); reload and retry",
                       extra={"current_version": row.version})
    if "grid_code" in changes:
        _check_grid(session, changes["grid_code"], actor)
    changed = sorted(k for k, v in changes.items() if row._mapping[k] != v)
    if not changed:
        return view(row)
    now = utcnow()
    # The WHERE on version makes a concurrent editor's update match nothing: one of the two wins.
    result = session.execute(update(sources).where(
        sources.c.source_id == source_id, sources.c.version == row.version).values(
        **changes, version=row.version + 1, updated_at=now))
    if result.rowcount != 1:
        raise ApiError(409, "source changed meanwhile; reload and retry")
    row = get(session, source_id, actor)
    session.execute(insert(source_history).values(
        source_id=source_id, version=row.version, state=_state(row), changed=changed, note=note,
        actor=actor.subject, at=now))
    _event(session, SOURCE_UPDATED, row, changed)
    return view(row)


def history(session: Session, source_id: str, actor: Identity) -> list[dict]:
    get(session, source_id, actor)
    rows = session.execute(select(source_history).where(source_history.c.source_id == source_id)
                           .order_by(source_history.c.version)).all()
    return [{"version": r.version, "changed": r.changed, "note": r.note, "actor": r.actor,
             "at": r.at.isoformat(), "state": r.state} for r in rows]


def _query(params: dict, actor: Identity):
    query = select(sources, grids.c.name.label("grid_name")).join(grids, grids.c.code == sources.c.grid_code)
    if params.get("grid"):
        query = query.where(sources.c.grid_code.startswith(params["grid"], autoescape=True))
    if not actor.district_wide:
        query = query.where(or_(*[sources.c.grid_code.startswith(g, autoescape=True) for g in actor.grids])
                            if actor.grids else sources.c.source_id.is_(None))
    if params.get("kind"):
        query = query.where(sources.c.kind == params["kind"])
    if params.get("status"):
        query = query.where(sources.c.status == params["status"])
    if params.get("q"):
        query = query.where(sources.c.name.contains(params["q"], autoescape=True))
    return query


def search(session: Session, params: dict, actor: Identity) -> dict:
    query = _query(params, actor)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(sources.c.grid_code, sources.c.source_id)
                           .limit(params["limit"]).offset(params["offset"])).all()
    return {"total": total, "items": [view(r) | {"grid_name": r.grid_name} for r in rows]}


def export_rows(session: Session, params: dict, actor: Identity):
    query = _query(params, actor).order_by(sources.c.grid_code, sources.c.source_id)
    for r in session.execute(query).all():
        yield [r.source_id, r.grid_code, r.grid_name, r.name, SOURCE_KINDS[r.kind], r.pollutants,
               [e["name"] for e in r.equipment], all(e["running"] for e in r.equipment) if r.equipment else None,
               r.permit_no, r.permit_valid_until, r.responsible_person, r.responsible_phone,
               SOURCE_STATUSES[r.status], r.address, r.version, r.updated_at]


def move_sources(session: Session, old_code: str, new_code: str, actor: str) -> None:
    """The point a source belongs to was re-coded (its grid was split or merged): follow it."""
    rows = session.execute(select(sources).where(sources.c.grid_code == old_code)).all()
    now = utcnow()
    for row in rows:
        session.execute(update(sources).where(sources.c.source_id == row.source_id).values(
            grid_code=new_code, version=row.version + 1, updated_at=now))
        moved = session.execute(select(sources).where(sources.c.source_id == row.source_id)).one()
        session.execute(insert(source_history).values(
            source_id=row.source_id, version=moved.version, state=_state(moved), changed=["grid_code"],
            note=f"网格调整: {old_code} → {new_code}", actor=actor, at=now))
        _event(session, SOURCE_UPDATED, moved, ["grid_code"])
