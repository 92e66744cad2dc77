"""Use cases of intake: reports from every channel, city instructions, patrols, the reporter's view.

A report is stored and answered with a tracking code whatever the state of the
other services: category and district checks use local copies (reference.py),
and what depends on dispatch happens when its events arrive.
"""
from __future__ import annotations

import hashlib
import os
from datetime import timedelta

from envgrid_contracts.incident import (INCIDENT_DUPLICATE_LINKED, INCIDENT_REPORTED, PATROL_RECORDED,
                                        PUBLIC_CHANNELS)
from sqlalchemy import bindparam, func, insert, literal, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekit import geo
from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from . import domain, reference, sealing
from .models import evidence, patrols, report_evidence, report_updates, reports, reporter_access_log
from .publishing import OUTBOX

OPEN_STATUSES = ("received", "processing")


def _duplicate_rule() -> tuple[float, timedelta]:
    radius = float(os.environ.get("DUPLICATE_RADIUS_M", "200"))
    window = timedelta(hours=float(os.environ.get("DUPLICATE_WINDOW_HOURS", "72")))
    return radius, window


# -- checks ------------------------------------------------------------------
def _check_channel(channel: str, who: Identity) -> None:
    if not who.has_any(*domain.CHANNEL_ROLES[channel]):
        raise ApiError(403, f"the {channel} channel is not open to your role")


def _check_category(session: Session, code: str) -> bool:
    """True when verified against the registry's list; False when there is no list yet."""
    known, active, _ = reference.category(session, code)
    if known is None:
        return False
    if not known or not active:
        raise ApiError(422, f"unknown category {code}", fields={"category": ["not in the district's category list"]})
    return True


def _check_evidence(session: Session, ids: list[str]) -> None:
    if not ids:
        return
    found = set(session.execute(select(evidence.c.sha256).where(evidence.c.sha256.in_(ids))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError(422, "evidence must be uploaded before it is referenced",
                       fields={"evidence": [f"unknown evidence {m}" for m in missing]})


def _position(point: dict | None) -> tuple[float | None, float | None, str | None]:
    if point is None:
        return None, None, None
    lon, lat = geo.to_wgs84(point["lon"], point["lat"], point["datum"])
    return round(float(lon), 7), round(float(lat), 7), point["datum"]


# -- the report itself ---------------------------------------------------------
# Intake's statements are built once: building a 30-column INSERT costs more CPU than
# PostgreSQL spends running it. Parameters are bound at execution.
def _candidates(by_cell: bool):
    """Open reports of a category, not duplicates themselves, recent enough, in a lon/lat box."""
    query = select(reports.c.incident_id, reports.c.lon, reports.c.lat, reports.c.reported_at).where(
        reports.c.category == bindparam("category"),
        reports.c.status.in_([literal(status) for status in OPEN_STATUSES]),
        reports.c.duplicate_of.is_(None), reports.c.reported_at >= bindparam("since"),
        reports.c.lon.between(bindparam("x0"), bindparam("x1")),
        reports.c.lat.between(bindparam("y0"), bindparam("y1")))
    # The cells the box touches (ix_reports_nearby): every point of the box is in one of them.
    return query.where(reports.c.cell.in_(bindparam("cells", expanding=True))) if by_cell else query


_CANDIDATES_BY_CELL = _candidates(by_cell=True)
_CANDIDATES_IN_BOX = _candidates(by_cell=False)

_REPORT_VALUES = {column.name: bindparam(column.name, type_=column.type) for column in reports.c}
# PostgreSQL: the report and its first timeline entry in one statement. A clash of the random
# identifiers with a stored report inserts neither (ON CONFLICT DO NOTHING) and returns no row.
_filed = (pg_insert(reports).values(_REPORT_VALUES).on_conflict_do_nothing()
          .returning(reports.c.incident_id, reports.c.reported_at).cte("filed"))
_FILE_REPORT_PG = (insert(report_updates)
                   .from_select(["incident_id", "status", "note", "at"],
                                select(_filed.c.incident_id, literal("received"), null(), _filed.c.reported_at))
                   .returning(report_updates.c.incident_id))
# SQLite (tests, a laptop): the same in two statements.
_FILE_REPORT_SQLITE = (sqlite_insert(reports).values(_REPORT_VALUES).on_conflict_do_nothing()
                       .returning(reports.c.incident_id))
_FIRST_UPDATE = insert(report_updates).values(incident_id=bindparam("incident_id"), status="received",
                                              note=None, at=bindparam("at"))
_LINK_EVIDENCE = insert(report_evidence)
_CITY_REFERENCE_TAKEN = select(reports.c.incident_id).where(reports.c.city_reference == bindparam("reference"))

_ID_ATTEMPTS = 5  # a clash of random identifiers is astronomically rare, but cheap to survive


class CityReferenceTaken(Exception):
    """Another report holds this city reference (filed concurrently)."""


def _duplicate_of(conn, category: str, lon: float, lat: float, now) -> tuple[str, float] | None:
    radius, window = _duplicate_rule()
    x0, y0, x1, y1 = domain.box_around(lon, lat, radius)
    params = {"category": category, "since": now - window, "x0": x0, "x1": x1, "y0": y0, "y1": y1}
    cells = domain.cells_covering(x0, y0, x1, y1)
    if cells is None:
        rows = conn.execute(_CANDIDATES_IN_BOX, params).all()
    else:
        rows = conn.execute(_CANDIDATES_BY_CELL, {**params, "cells": cells}).all()
    return domain.find_duplicate(lon, lat, now, [domain.Candidate(*r) for r in rows], radius, window)


def _insert_report(conn, values: dict) -> None:
    """Insert the report and its first timeline entry under fresh identifiers (set in `values`).

    The unique constraints catch a clash of the random identifiers with a stored report;
    the report is then tried again under new ones.
    """
    now = values["reported_at"]
    postgres = conn.dialect.name == "postgresql"
    for _ in range(_ID_ATTEMPTS):
        values["incident_id"], values["tracking_code"] = domain.new_incident_id(now), domain.new_tracking_code()
        if postgres:
            filed = conn.execute(_FILE_REPORT_PG, values).first()
        else:
            filed = conn.execute(_FILE_REPORT_SQLITE, values).first()
            if filed is not None:
                conn.execute(_FIRST_UPDATE, {"incident_id": values["incident_id"], "at": now})
        if filed is not None:
            return
        # Nothing inserted: identifiers taken, or (city instructions) the city reference.
        if values["city_reference"] is not None and conn.execute(
                _CITY_REFERENCE_TAKEN, {"reference": values["city_reference"]}).first() is not None:
            raise CityReferenceTaken(values["city_reference"])
    raise RuntimeError(f"no free report identifiers after {_ID_ATTEMPTS} attempts")


def _file(session: Session, data: dict, who: Identity, *, channel: str, reported_by: str | None,
          city: dict | None = None, patrol_id: str | None = None) -> dict:
    """Store one report with its events. `data` is already validated by a schema."""
    now = utcnow()
    category_verified = _check_category(session, data["category"])
    _check_evidence(session, data.get("evidence") or [])
    lon, lat, datum = _position(data.get("location"))
    outside = reference.outside_district(session, lon, lat)
    needs_operator = bool(outside) or not category_verified
    reporter = data.get("reporter")
    conn = session.connection()  # Core statements straight on the transaction's connection

    duplicate = _duplicate_of(conn, data["category"], lon, lat, now) if lon is not None else None

    values = dict(
        incident_id=None, tracking_code=None, channel=channel, category=data["category"],
        description=data["description"], severity=data["severity"], major=data.get("major", False),
        observed_at=data.get("observed_at") or now, reported_at=now, lon=lon, lat=lat, datum_received=datum,
        address=data.get("address"), grid_hint=data.get("grid_hint"), outside_district=outside,
        category_verified=category_verified, needs_operator=needs_operator,
        reporter_name_sealed=sealing.seal(reporter["name"]) if reporter else None,
        reporter_phone_sealed=sealing.seal(reporter["phone"]) if reporter else None,
        reported_by=reported_by, handled_on_spot=data.get("handled_on_spot", False),
        duplicate_of=duplicate[0] if duplicate else None, status="received", public_answer=None,
        case_id=None, city_reference=city["reference"] if city else None, city=city, patrol_id=patrol_id,
        updated_at=now, cell=domain.cell_of(lon, lat))
    _insert_report(conn, values)
    incident_id, code = values["incident_id"], values["tracking_code"]
    if data.get("evidence"):
        conn.execute(_LINK_EVIDENCE, [{"incident_id": incident_id, "patrol_id": None, "sha256": sha,
                                       "added_by": reported_by or "reporter", "added_at": now}
                                      for sha in data["evidence"]])
    events = [(INCIDENT_REPORTED, {
        "incident_id": incident_id, "channel": channel, "category": data["category"],
        "description": data["description"], "severity": data["severity"], "major": values["major"],
        "observed_at": values["observed_at"].isoformat(), "reported_at": now.isoformat(),
        "location": {"lon": lon, "lat": lat, "datum_received": datum, "address": data.get("address"),
                     "outside_district": outside},
        "grid_hint": data.get("grid_hint"), "reporter_named": reporter is not None,
        "reporter_key": sealing.pseudonym(reporter["phone"]) if reporter else None,
        "tracking_key": hashlib.sha256(code.encode()).hexdigest(),
        "reported_by": reported_by, "handled_on_spot": values["handled_on_spot"],
        "duplicate_of": values["duplicate_of"], "evidence": list(data.get("evidence") or []),
        "city": city})]
    if duplicate:
        events.append((INCIDENT_DUPLICATE_LINKED, {
            "incident_id": incident_id, "duplicate_of": duplicate[0], "category": data["category"],
            "distance_m": duplicate[1]}))
    OUTBOX.add_many(session, events)  # one INSERT and one NOTIFY for both
    return {"incident_id": incident_id, "tracking_code": code, "status": "received",
            "duplicate_of": values["duplicate_of"], "outside_district": outside,
            "needs_operator": needs_operator}


def report(session: Session, data: dict, who: Identity) -> dict:
    channel = data["channel"]
    _check_channel(channel, who)
    if channel in domain.STAFF_CHANNELS and data.get("grid_hint") and not who.covers(data["grid_hint"]):
        raise ApiError(403, f"grid {data['grid_hint']} is outside your grids")
    if channel == "patrol" and not data.get("grid_hint"):
        raise ApiError(422, "a patrol report names the grid it was found in", fields={"grid_hint": ["required"]})
    if channel == "public_web" and who.has_any("public"):
        reported_by = None  # the public: identity, if any, is only the sealed reporter
    else:
        reported_by = who.subject
    return _file(session, data, who, channel=channel, reported_by=reported_by)


def city_instruction(session: Session, data: dict, who: Identity) -> tuple[dict, bool]:
    """File a city instruction once per city reference. Returns (answer, created)."""
    existing = session.execute(select(reports).where(reports.c.city_reference == data["reference"])).first()
    if existing is not None:
        return _answer(existing), False
    city = {"reference": data["reference"], "kind": data["kind"], "callback_url": data.get("callback_url"),
            "details": _jsonable(data["details"])}
    report_data = {"category": data["kind"], "description": data["description"], "severity": data["severity"],
                   "location": data.get("location"), "address": data.get("address"),
                   "major": data["kind"] == "emergency_order"}
    try:
        with session.begin_nested():
            return _file(session, report_data, who, channel="city_platform", reported_by=who.subject,
                         city=city), True
    except (IntegrityError, CityReferenceTaken):
        # The same reference filed concurrently: the other one won; answer what it stored.
        existing = session.execute(select(reports).where(reports.c.city_reference == data["reference"])).one()
        return _answer(existing), False


def _jsonable(details: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in details.items()}


def _answer(row) -> dict:
    return {"incident_id": row.incident_id, "tracking_code": row.tracking_code, "status": row.status,
            "duplicate_of": row.duplicate_of, "outside_district": row.outside_district,
            "needs_operator": row.needs_operator}


def record_patrol(session: Session, data: dict, who: Identity) -> dict:
    if not who.has_any("grid_staff"):
        raise ApiError(403, "patrols are recorded by grid staff")
    if not who.covers(data["grid_code"]):
        raise ApiError(403, f"grid {data['grid_code']} is outside your grids")
    _check_evidence(session, data["evidence"])
    now = utcnow()
    lons, lats = geo.to_wgs84([p[0] for p in data["track"]], [p[1] for p in data["track"]], data["datum"])
    track = [[round(float(x), 7), round(float(y), 7), *p[2:]] for x, y, p in zip(lons, lats, data["track"])]
    patrol_id = domain.new_patrol_id(now)
    session.execute(insert(patrols).values(
        patrol_id=patrol_id, grid_code=data["grid_code"], staff=who.subject, started_at=data["started_at"],
        ended_at=data["ended_at"], track=track, distance_m=round(domain.track_length_m(track), 1),
        notes=data.get("notes"), created_at=now))
    for sha in data["evidence"]:
        session.execute(insert(report_evidence).values(patrol_id=patrol_id, sha256=sha, added_by=who.subject,
                                                      added_at=now))
    found = [_file(session, {**problem, "grid_hint": data["grid_code"]}, who, channel="patrol",
                   reported_by=who.subject, patrol_id=patrol_id)["incident_id"] for problem in data["problems"]]
    OUTBOX.add(session, PATROL_RECORDED, {
        "patrol_id": patrol_id, "grid_code": data["grid_code"], "staff": who.subject,
        "started_at": data["started_at"].isoformat(), "ended_at": data["ended_at"].isoformat(),
        "distance_m": round(domain.track_length_m(track), 1), "checkpoints": len(track), "problems": found})
    return {"patrol_id": patrol_id, "problems": found, "distance_m": round(domain.track_length_m(track), 1)}


# -- reading -------------------------------------------------------------------
def _get(session: Session, incident_id: str):
    row = session.execute(select(reports).where(reports.c.incident_id == incident_id)).first()
    if row is None:
        raise ApiError(404, f"no report {incident_id}")
    return row


def evidence_of(session: Session, incident_id: str) -> list[dict]:
    rows = session.execute(select(evidence, report_evidence.c.added_by, report_evidence.c.added_at)
                           .join(report_evidence, report_evidence.c.sha256 == evidence.c.sha256)
                           .where(report_evidence.c.incident_id == incident_id)
                           .order_by(report_evidence.c.id)).all()
    return [{"evidence_id": r.sha256, "kind": r.kind, "mime": r.mime, "size": r.size,
             "exif": {"lon": r.exif_lon, "lat": r.exif_lat, "taken_at": r.exif_taken_at},
             "added_by": r.added_by, "added_at": r.added_at.isoformat()} for r in rows]


def staff_view(session: Session, incident_id: str, who: Identity) -> dict:
    """Everything but the reporter's identity (see reporter_identity)."""
    row = _get(session, incident_id)
    if not who.district_wide and not (row.reported_by == who.subject or
                                      (row.grid_hint and who.covers(row.grid_hint))):
        raise ApiError(404, f"no report {incident_id}")
    return {"incident_id": row.incident_id, "channel": row.channel, "category": row.category,
            "description": row.description, "severity": row.severity, "major": row.major,
            "observed_at": row.observed_at.isoformat(), "reported_at": row.reported_at.isoformat(),
            "location": {"lon": row.lon, "lat": row.lat, "datum_received": row.datum_received,
                         "address": row.address},
            "grid_hint": row.grid_hint, "outside_district": row.outside_district,
            "category_verified": row.category_verified, "needs_operator": row.needs_operator,
            "reporter_named": row.reporter_name_sealed is not None, "reported_by": row.reported_by,
            "handled_on_spot": row.handled_on_spot, "duplicate_of": row.duplicate_of, "status": row.status,
            "public_answer": row.public_answer, "case_id": row.case_id, "city": row.city,
            "patrol_id": row.patrol_id, "evidence": evidence_of(session, incident_id)}


def search(session: Session, params: dict) -> dict:
    query = select(reports)
    for key in ("status", "channel", "category", "needs_operator"):
        if params.get(key) is not None:
            query = query.where(reports.c[key] == params[key])
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(reports.c.reported_at.desc())
                           .limit(params["limit"]).offset(params["offset"])).all()
    return {"total": total, "items": [
        {"incident_id": r.incident_id, "channel": r.channel, "category": r.category, "status": r.status,
         "reported_at": r.reported_at.isoformat(), "needs_operator": r.needs_operator,
         "outside_district": r.outside_district, "duplicate_of": r.duplicate_of} for r in rows]}


def track(session: Session, tracking_code: str) -> dict:
    """The reporter's page: public status, category, answers. Nothing about anyone."""
    code = domain.normalise_tracking_code(tracking_code)
    row = session.execute(select(reports).where(reports.c.tracking_code == code)).first()
    if row is None:
        raise ApiError(404, "no report with this tracking code")
    _, _, category_name = reference.category(session, row.category)
    updates = session.execute(select(report_updates).where(report_updates.c.incident_id == row.incident_id)
                              .order_by(report_updates.c.id)).all()
    return {"tracking_code": row.tracking_code, "status": row.status, "category": row.category,
            "category_name": category_name, "reported_at": row.reported_at.isoformat(),
            "answer": row.public_answer,
            "updates": [{"status": u.status, "note": u.note, "at": u.at.isoformat()} for u in updates]}


def reporter_identity(session: Session, incident_id: str, who: Identity, purpose: str) -> dict:
    """The sealed reporter, opened for the reward office only, and the reading recorded."""
    if not who.has_any("rewards_office"):
        raise ApiError(403, "reporter identity is for the reward office only")
    row = _get(session, incident_id)
    session.execute(insert(reporter_access_log).values(incident_id=incident_id, viewer=who.subject,
                                                       purpose=purpose, at=utcnow()))
    return {"incident_id": incident_id, "named": row.reporter_name_sealed is not None,
            "name": sealing.unseal(row.reporter_name_sealed), "phone": sealing.unseal(row.reporter_phone_sealed),
            "channel": row.channel, "public": row.channel in PUBLIC_CHANNELS}


def patrol_list(session: Session, params: dict, who: Identity) -> dict:
    query = select(patrols).order_by(patrols.c.started_at.desc()).limit(params["limit"])
    if params.get("grid"):
        query = query.where(patrols.c.grid_code.startswith(params["grid"], autoescape=True))
    if params.get("since"):
        query = query.where(patrols.c.started_at >= params["since"])
    rows = [r for r in session.execute(query).all() if who.covers(r.grid_code)]
    return {"items": [{"patrol_id": r.patrol_id, "grid_code": r.grid_code, "staff": r.staff,
                       "started_at": r.started_at.isoformat(), "ended_at": r.ended_at.isoformat(),
                       "distance_m": r.distance_m, "checkpoints": len(r.track)} for r in rows]}


# -- dispatch's answers ----------------------------------------------------------
def apply_case_event(session: Session, envelope, data: dict) -> None:
    """A case moved: the reports it holds show the public status, and the answer when it ends."""
    status = domain.public_status(data["state"])
    for incident_id in data["incident_ids"]:
        row = session.execute(select(reports.c.status).where(reports.c.incident_id == incident_id)).first()
        if row is None:
            continue
        values = {"status": status, "case_id": data["case_id"], "updated_at": utcnow()}
        note = data.get("public_note") if status in ("closed", "rejected") else None
        if note:
            values["public_answer"] = note
        session.execute(update(reports).where(reports.c.incident_id == incident_id).values(**values))
        if status != row.status or note:
            session.execute(insert(report_updates).values(incident_id=incident_id, status=status, note=note,
                                                          at=data["at"]))


def record_claimant(session: Session, incident_id: str, data: dict, who: Identity) -> dict:
    """An anonymous public reporter claims a reward in person: the office records who they are.

    Only with the report's own tracking code, only for a report filed without a name, only by
    the reward office; the identity is sealed like any other and the recording is logged.
    Returns the reporter's pseudonym, which is all rewards keeps.
    """
    if not who.has_any("rewards_office"):
        raise ApiError(403, "claims are recorded by the reward office")
    row = _get(session, incident_id)
    if domain.normalise_tracking_code(data["tracking_code"]) != row.tracking_code:
        raise ApiError(403, "the tracking code does not match this report")
    if row.channel not in PUBLIC_CHANNELS:
        raise ApiError(422, "only public reports are rewarded", fields={"incident_id": ["not a public report"]})
    if row.reporter_name_sealed is not None:
        raise ApiError(409, "this report already names its reporter")
    session.execute(update(reports).where(reports.c.incident_id == incident_id).values(
        reporter_name_sealed=sealing.seal(data["name"]), reporter_phone_sealed=sealing.seal(data["phone"]),
        updated_at=utcnow()))
    session.execute(insert(reporter_access_log).values(incident_id=incident_id, viewer=who.subject,
                                                       purpose=f"认领登记: {data['purpose']}", at=utcnow()))
    return {"incident_id": incident_id, "reporter_key": sealing.pseudonym(data["phone"])}
