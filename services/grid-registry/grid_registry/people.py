"""Use cases for people and their roles in grids. One transaction each; events through the outbox."""
from __future__ import annotations

import csv
import io

from envgrid_contracts.grid import MEMBER_ASSIGNED, MEMBER_REMOVED
from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.tables import utcnow

from . import levels
from .models import grids, memberships, people
from .publishing import OUTBOX
from .text import pinyin_keys

CSV_HEADERS = ["person_id", "name", "phone", "title", "grid_code", "role"]
CSV_HEADERS_ZH = ["人员编号", "姓名", "电话", "职务", "网格编码", "网格角色"]


def person_view(row) -> dict:
    return {"person_id": row.person_id, "name": row.name, "phone": row.phone, "title": row.title}


def get_person(session: Session, person_id: str):
    row = session.execute(select(people).where(people.c.person_id == person_id)).first()
    if row is None:
        raise ApiError(404, f"no person {person_id}")
    return row


def create_person(session: Session, data: dict) -> dict:
    if session.execute(select(people.c.person_id).where(people.c.person_id == data["person_id"])).first():
        raise ApiError(409, f"person {data['person_id']} exists", fields={"person_id": ["already registered"]})
    full, initials = pinyin_keys(data["name"])
    now = utcnow()
    session.execute(insert(people).values(**data, name_pinyin=full, name_initials=initials,
                                          created_at=now, updated_at=now))
    return data


def update_person(session: Session, person_id: str, changes: dict) -> dict:
    get_person(session, person_id)
    values = dict(changes, updated_at=utcnow())
    if "name" in changes:
        values["name_pinyin"], values["name_initials"] = pinyin_keys(changes["name"])
    session.execute(update(people).where(people.c.person_id == person_id).values(**values))
    row = get_person(session, person_id)
    # Roles carry the name and phone in their events: tell consumers about each role held.
    for membership in active_memberships(session, person_id=person_id):
        _member_event(session, MEMBER_ASSIGNED, membership)
    return person_view(row)


def active_memberships(session: Session, grid_code: str | None = None, person_id: str | None = None):
    query = (select(memberships.c.id, memberships.c.person_id, memberships.c.grid_code, memberships.c.role,
                    memberships.c.since, people.c.name, people.c.phone, people.c.title)
             .join(people, people.c.person_id == memberships.c.person_id)
             .where(memberships.c.until.is_(None)).order_by(memberships.c.id))
    if grid_code is not None:
        query = query.where(memberships.c.grid_code == grid_code)
    if person_id is not None:
        query = query.where(memberships.c.person_id == person_id)
    return session.execute(query).all()


def membership_view(row) -> dict:
    role = levels.ROLES[row.role]
    return {"membership_id": row.id, "person_id": row.person_id, "name": row.name, "phone": row.phone,
            "title": row.title, "grid_code": row.grid_code, "role": row.role, "role_name": role.name,
            "leads": role.leads, "since": row.since.isoformat()}


def _member_event(session: Session, event_type: str, row) -> None:
    OUTBOX.add(session, event_type, {
        "membership_id": row.id, "person_id": row.person_id, "name": row.name, "phone": row.phone,
        "grid_code": row.grid_code, "role": row.role, "leads": levels.ROLES[row.role].leads})


def assign(session: Session, grid_code: str, person_id: str, role: str) -> dict:
    grid = session.execute(select(grids.c.level, grids.c.status).where(grids.c.code == grid_code)).first()
    if grid is None:
        raise ApiError(404, f"no grid {grid_code}")
    if grid.status != "active":
        raise ApiError(422, f"grid {grid_code} is retired", fields={"grid_code": ["retired grid"]})
    get_person(session, person_id)
    if not levels.role_allowed(role, grid.level):
        allowed = sorted(code for code, r in levels.ROLES.items() if grid.level in r.levels)
        raise ApiError(422, f"role {role} does not exist at level {grid.level}",
                       fields={"role": [f"allowed at level {grid.level}: {', '.join(allowed)}"]})
    held = session.execute(select(memberships.c.id).where(and_(
        memberships.c.person_id == person_id, memberships.c.grid_code == grid_code,
        memberships.c.role == role, memberships.c.until.is_(None)))).first()
    if held:
        raise ApiError(409, f"{person_id} already holds {role} in {grid_code}")
    membership_id = session.execute(insert(memberships).values(
        person_id=person_id, grid_code=grid_code, role=role, since=utcnow())).inserted_primary_key[0]
    (row,) = [m for m in active_memberships(session, grid_code=grid_code) if m.id == membership_id]
    _member_event(session, MEMBER_ASSIGNED, row)
    return membership_view(row)


def remove(session: Session, grid_code: str, membership_id: int) -> None:
    rows = [m for m in active_memberships(session, grid_code=grid_code) if m.id == membership_id]
    if not rows:
        raise ApiError(404, f"no current role {membership_id} in grid {grid_code}")
    session.execute(update(memberships).where(memberships.c.id == membership_id).values(until=utcnow()))
    _member_event(session, MEMBER_REMOVED, rows[0])


def move_memberships(session: Session, old_code: str, new_codes: list[str]) -> None:
    """A grid was replaced (split or merge): its people take the same roles in the new grids."""
    for row in active_memberships(session, grid_code=old_code):
        remove(session, old_code, row.id)
        for new_code in new_codes:
            already = session.execute(select(memberships.c.id).where(and_(
                memberships.c.person_id == row.person_id, memberships.c.grid_code == new_code,
                memberships.c.role == row.role, memberships.c.until.is_(None)))).first()
            if not already:
                assign(session, new_code, row.person_id, row.role)


def grids_without_leader(session: Session) -> list[dict]:
    leading = [code for code, role in levels.ROLES.items() if role.leads]
    led = select(memberships.c.grid_code).where(memberships.c.until.is_(None), memberships.c.role.in_(leading))
    rows = session.execute(select(grids.c.code, grids.c.name, grids.c.level).where(
        grids.c.status == "active", grids.c.code.not_in(led)).order_by(grids.c.code)).all()
    return [{"code": r.code, "name": r.name, "level": r.level} for r in rows]


def import_csv(session: Session, text: str) -> dict:
    """People and their roles from CSV (English or Chinese headers). All rows or none."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header not in (CSV_HEADERS, CSV_HEADERS_ZH):
        raise ApiError(422, "unexpected CSV header", fields={"header": [
            "expected " + ",".join(CSV_HEADERS) + " or " + ",".join(CSV_HEADERS_ZH)]})
    rows, problems = [], []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(CSV_HEADERS):
            problems.append({"line": line, "problem": f"expected {len(CSV_HEADERS)} columns, got {len(values)}"})
            continue
        rows.append(dict(zip(CSV_HEADERS, (v.strip() for v in values)), line=line))
    return import_rows(session, rows, problems)


def import_rows(session: Session, rows: list[dict], problems: list[dict] | None = None) -> dict:
    """Create the people and assign the roles of `rows`, or nothing if any row has a problem.

    Each row: person_id, name, phone, title, grid_code, role (and `line`, to name it in problems).
    Every problem is reported; people and roles already registered are left as they are.
    """
    problems = list(problems or [])
    known = {code: level for code, level in session.execute(
        select(grids.c.code, grids.c.level).where(grids.c.status == "active")).all()}
    seen_people: dict[str, tuple] = {}
    for number, row in enumerate(rows, start=1):
        line = row.get("line", number)
        if not row.get("person_id") or not row.get("name"):
            problems.append({"line": line, "problem": "person_id and name are required"})
        if not levels.valid_phone(row.get("phone", "")):
            problems.append({"line": line, "problem": f"not a phone number: {row.get('phone')!r}"})
        level = known.get(row.get("grid_code"))
        if level is None:
            problems.append({"line": line, "problem": f"unknown or retired grid {row.get('grid_code')!r}"})
        elif not levels.role_allowed(row.get("role"), level):
            problems.append({"line": line, "problem": f"role {row.get('role')!r} does not exist at level {level}"})
        details = (row.get("name"), row.get("phone"))
        if seen_people.setdefault(row.get("person_id"), details) != details:
            problems.append({"line": line, "problem": f"person {row.get('person_id')} appears with different details"})
    if problems:
        raise ApiError(422, f"{len(problems)} problem(s); nothing imported", fields={"rows": problems})

    existing = set(session.execute(select(people.c.person_id)).scalars().all())
    now = utcnow()
    new_people = []
    for row in rows:
        if row["person_id"] not in existing:
            full, initials = pinyin_keys(row["name"])
            new_people.append({"person_id": row["person_id"], "name": row["name"], "phone": row["phone"],
                               "title": row.get("title") or "", "name_pinyin": full, "name_initials": initials,
                               "created_at": now, "updated_at": now})
            existing.add(row["person_id"])
    if new_people:
        session.execute(insert(people), new_people)
    held = {(m.person_id, m.grid_code, m.role) for m in active_memberships(session)}
    wanted = []
    for row in rows:
        key = (row["person_id"], row["grid_code"], row["role"])
        if key not in held:
            held.add(key)
            wanted.append({"person_id": row["person_id"], "grid_code": row["grid_code"], "role": row["role"],
                           "since": now})
    assigned = len(wanted)
    if wanted:
        # One statement for all roles, and one for all their events: imports are thousands of rows.
        ids = session.execute(insert(memberships).returning(memberships.c.id, sort_by_parameter_order=True), wanted).scalars().all()
        details = {r["person_id"]: r for r in rows}
        OUTBOX.add_many(session, [(MEMBER_ASSIGNED, {
            "membership_id": membership_id, "person_id": w["person_id"], "name": details[w["person_id"]]["name"],
            "phone": details[w["person_id"]]["phone"], "grid_code": w["grid_code"], "role": w["role"],
            "leads": levels.ROLES[w["role"]].leads}) for membership_id, w in zip(ids, wanted)])
    return {"people_created": len(new_people), "roles_assigned": assigned}


def export_rows(session: Session):
    for m in active_memberships(session):
        yield [m.person_id, m.name, m.phone, m.title, m.grid_code, m.role]
