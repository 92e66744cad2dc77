"""Use cases for the district's reference data: departments, problem categories, duties per level.

All of it is data the district edits; the defaults of defaults.py are seeded once.
"""
from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError

from .defaults import CATEGORIES, DEPARTMENTS, RESPONSIBILITIES
from .models import categories, departments, responsibilities


def seed_defaults(session: Session) -> bool:
    """Insert the defaults into an empty catalogue. Returns whether anything was seeded."""
    if session.execute(select(func.count()).select_from(departments)).scalar_one():
        return False
    session.execute(insert(departments), [
        {"code": c, "name": n, "name_en": e, "phone": None, "active": True} for c, n, e in DEPARTMENTS])
    session.execute(insert(categories), [
        {"code": c, "name": n, "name_en": e, "group": g, "first_level": lvl, "department_code": d, "active": True}
        for c, n, e, g, lvl, d in CATEGORIES])
    session.execute(insert(responsibilities), [
        {"level": level, "ordinal": i, "text": text}
        for level, duties in RESPONSIBILITIES.items() for i, text in enumerate(duties, start=1)])
    return True


def _dept(row) -> dict:
    return {"code": row.code, "name": row.name, "name_en": row.name_en, "phone": row.phone, "active": row.active}


def _cat(row) -> dict:
    return {"code": row.code, "name": row.name, "name_en": row.name_en, "group": row.group,
            "first_level": row.first_level, "department_code": row.department_code, "active": row.active}


def list_departments(session: Session) -> list[dict]:
    return [_dept(r) for r in session.execute(select(departments).order_by(departments.c.code)).all()]


def create_department(session: Session, data: dict) -> dict:
    if session.execute(select(departments.c.code).where(departments.c.code == data["code"])).first():
        raise ApiError(409, f"department {data['code']} exists")
    session.execute(insert(departments).values(**data))
    return data


def update_department(session: Session, code: str, changes: dict) -> dict:
    if session.execute(select(departments.c.code).where(departments.c.code == code)).first() is None:
        raise ApiError(404, f"no department {code}")
    if changes.get("active") is False:
        in_use = session.execute(select(categories.c.code).where(
            categories.c.department_code == code, categories.c.active.is_(True))).scalars().all()
        if in_use:
            raise ApiError(422, "categories still map to this department",
                           fields={"active": [f"remap first: {', '.join(in_use)}"]})
    session.execute(update(departments).where(departments.c.code == code).values(**changes))
    return _dept(session.execute(select(departments).where(departments.c.code == code)).one())


def _check_department(session: Session, code: str) -> None:
    row = session.execute(select(departments.c.active).where(departments.c.code == code)).first()
    if row is None or not row.active:
        raise ApiError(422, f"unknown or inactive department {code}", fields={"department_code": ["unknown"]})


def list_categories(session: Session, include_inactive: bool = False) -> list[dict]:
    query = select(categories).order_by(categories.c.group, categories.c.code)
    if not include_inactive:
        query = query.where(categories.c.active.is_(True))
    return [_cat(r) for r in session.execute(query).all()]


def get_category(session: Session, code: str) -> dict:
    row = session.execute(select(categories).where(categories.c.code == code)).first()
    if row is None:
        raise ApiError(404, f"no category {code}")
    return _cat(row)


def create_category(session: Session, data: dict) -> dict:
    if session.execute(select(categories.c.code).where(categories.c.code == data["code"])).first():
        raise ApiError(409, f"category {data['code']} exists")
    _check_department(session, data["department_code"])
    session.execute(insert(categories).values(**data))
    return data


def update_category(session: Session, code: str, changes: dict) -> dict:
    get_category(session, code)
    if "department_code" in changes:
        _check_department(session, changes["department_code"])
    session.execute(update(categories).where(categories.c.code == code).values(**changes))
    return get_category(session, code)


def duties(session: Session, level: int) -> list[str]:
    return session.execute(select(responsibilities.c.text).where(responsibilities.c.level == level)
                           .order_by(responsibilities.c.ordinal)).scalars().all()


def replace_duties(session: Session, level: int, texts: list[str]) -> list[str]:
    session.execute(delete(responsibilities).where(responsibilities.c.level == level))
    session.execute(insert(responsibilities), [
        {"level": level, "ordinal": i, "text": t} for i, t in enumerate(texts, start=1)])
    return texts
