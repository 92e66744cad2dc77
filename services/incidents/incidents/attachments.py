"""Use cases for evidence: upload once (content-addressed), attach to reports, read back.

Nothing here overwrites or deletes evidence: the store refuses to replace a
hash it holds, and the API has no route that removes one.
"""
from __future__ import annotations

import threading

from envgrid_contracts.incident import INCIDENT_EVIDENCE_ADDED
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from . import domain
from .evidence import EvidenceRejected, inspect, make_thumbnail
from .evidence_store import EvidenceMissing, EvidenceStore, store_from_env
from .models import evidence, report_evidence, reports
from .publishing import OUTBOX

_store_lock = threading.Lock()
_store: dict = {}


def store() -> EvidenceStore:
    with _store_lock:
        if "store" not in _store:
            _store["store"] = store_from_env()
        return _store["store"]


def upload(session: Session, stream, filename: str | None, content_type: str | None) -> dict:
    """Check and keep one file; the same content uploaded twice is kept once."""
    try:
        inspected = inspect(stream, filename, content_type)
    except EvidenceRejected as exc:
        raise ApiError(exc.status, exc.reason, fields={exc.field: [exc.reason]}) from None
    with inspected:
        store().put(inspected.sha256, inspected.file, inspected.mime)
        known = session.execute(select(evidence.c.sha256).where(evidence.c.sha256 == inspected.sha256)).first()
        thumbnail = known is not None and inspected.thumbnailable
        if known is None and inspected.thumbnailable:
            inspected.file.seek(0)
            store().put_thumbnail(inspected.sha256, make_thumbnail(inspected.file))
            thumbnail = True
        if known is None:
            session.execute(insert(evidence).values(
                sha256=inspected.sha256, mime=inspected.mime, kind=inspected.kind, size=inspected.size,
                width=inspected.width, height=inspected.height, exif_lon=inspected.exif_lon,
                exif_lat=inspected.exif_lat, exif_taken_at=inspected.exif_taken_at, has_thumbnail=thumbnail,
                first_uploaded_at=utcnow()))
    return {"evidence_id": inspected.sha256, "kind": inspected.kind, "mime": inspected.mime,
            "size": inspected.size, "width": inspected.width, "height": inspected.height,
            "exif": {"lon": inspected.exif_lon, "lat": inspected.exif_lat, "taken_at": inspected.exif_taken_at},
            "already_stored": known is not None}


def attach(session: Session, incident_id: str, evidence_id: str, who: Identity | None,
           tracking_code: str | None) -> dict:
    """Add uploaded evidence to a report: by the people handling it, or by its reporter (tracking code)."""
    row = session.execute(select(reports.c.incident_id, reports.c.tracking_code, reports.c.grid_hint,
                                 reports.c.reported_by).where(reports.c.incident_id == incident_id)).first()
    if row is None:
        raise ApiError(404, f"no report {incident_id}")
    if tracking_code is not None:
        if domain.normalise_tracking_code(tracking_code) != row.tracking_code:
            raise ApiError(403, "the tracking code does not match this report")
        added_by = "reporter"
    elif who is not None and (who.district_wide or row.reported_by == who.subject
                              or (who.has_any("grid_staff") and row.grid_hint and who.covers(row.grid_hint))):
        added_by = who.subject
    else:
        raise ApiError(403, "only the people handling this report, or its reporter, add evidence to it")
    item = session.execute(select(evidence).where(evidence.c.sha256 == evidence_id)).first()
    if item is None:
        raise ApiError(422, "upload the file first", fields={"evidence_id": ["unknown evidence"]})
    already = session.execute(select(report_evidence.c.id).where(
        report_evidence.c.incident_id == incident_id, report_evidence.c.sha256 == evidence_id)).first()
    if already is None:
        session.execute(insert(report_evidence).values(incident_id=incident_id, sha256=evidence_id,
                                                       added_by=added_by, added_at=utcnow()))
        OUTBOX.add(session, INCIDENT_EVIDENCE_ADDED, {"incident_id": incident_id, "evidence_id": evidence_id,
                                                      "kind": item.kind, "mime": item.mime, "added_by": added_by})
    return {"incident_id": incident_id, "evidence_id": evidence_id, "added_by": added_by}


def describe(session: Session, evidence_id: str):
    row = session.execute(select(evidence).where(evidence.c.sha256 == evidence_id)).first()
    if row is None:
        raise ApiError(404, f"no evidence {evidence_id}")
    return row


def open_content(evidence_id: str, thumbnail: bool = False):
    try:
        return store().open_thumbnail(evidence_id) if thumbnail else store().open(evidence_id)
    except EvidenceMissing:
        raise ApiError(404, f"the stored file of {evidence_id} is missing; tell an operator") from None
