"""HTTP routes of incidents, under /api/v1/incidents. Parse, authorise, call a use case."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, stream_with_context

from servicekit.errors import ApiError
from servicekit.identity import ROLES
from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from . import attachments, intake, schemas
from .evidence import MAX_VIDEO_BYTES, limits_from_env

bp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents")

ANYONE = tuple(sorted(ROLES))
OFFICE = ("district_ops", "admin")
HANDLERS = ("grid_staff", "district_ops", "admin")
# Multipart overhead on top of the largest file allowed.
UPLOAD_SLACK = 64 * 1024


@bp.post("/reports")
@require_roles(*ANYONE)
def file_report():
    return write(intake.report, json_body(schemas.ReportCreate()), current_identity(), status=201)


@bp.get("/reports")
@require_roles(*OFFICE)
def search_reports():
    return jsonify(intake.search(request_session(), query_args(schemas.ReportSearch())))


@bp.get("/reports/<incident_id>")
@require_roles(*HANDLERS)
def show_report(incident_id):
    return jsonify(intake.staff_view(request_session(), incident_id, current_identity()))


@bp.get("/reports/<incident_id>/reporter")
@require_roles("rewards_office")
def show_reporter(incident_id):
    purpose = query_args(schemas.AccessPurpose())["purpose"]
    return write(intake.reporter_identity, incident_id, current_identity(), purpose)


@bp.post("/city-instructions")
@require_roles("city_platform")
def city_instruction():
    data = json_body(schemas.CityInstructionCreate())
    session = request_session()
    with session.begin():
        answer, created = intake.city_instruction(session, data, current_identity())
    return jsonify(answer), (201 if created else 200)


@bp.post("/patrols")
@require_roles("grid_staff")
def record_patrol():
    return write(intake.record_patrol, json_body(schemas.PatrolCreate()), current_identity(), status=201)


@bp.get("/patrols")
@require_roles(*HANDLERS)
def list_patrols():
    return jsonify(intake.patrol_list(request_session(), query_args(schemas.PatrolSearch()), current_identity()))


@bp.get("/track/<tracking_code>")
@require_roles(*ANYONE)
def track(tracking_code):
    return jsonify(intake.track(request_session(), tracking_code))


# -- evidence ------------------------------------------------------------------
@bp.post("/evidence")
@require_roles(*ANYONE)
def upload_evidence():
    _, max_video = limits_from_env()
    request.max_content_length = max(max_video, MAX_VIDEO_BYTES) + UPLOAD_SLACK
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(422, "send the photo or video as multipart/form-data field 'file'",
                       fields={"file": ["missing"]})
    return write(attachments.upload, upload.stream, upload.filename, upload.mimetype, status=201)


@bp.post("/reports/<incident_id>/evidence")
@require_roles(*ANYONE)
def attach_evidence(incident_id):
    body = json_body(schemas.AttachEvidence())
    who = current_identity()
    code = request.headers.get("X-Tracking-Code")
    return write(attachments.attach, incident_id, body["evidence_id"], None if code else who, code, status=201)


def _stream(handle):
    try:
        while chunk := handle.read(256 * 1024):
            yield chunk
    finally:
        handle.close()


@bp.get("/evidence/<evidence_id>")
@require_roles(*HANDLERS, "rewards_office", "city_platform")
def download_evidence(evidence_id):
    row = attachments.describe(request_session(), evidence_id)
    handle = attachments.open_content(evidence_id)
    return Response(stream_with_context(_stream(handle)), mimetype=row.mime,
                    headers={"Content-Length": str(row.size), "Cache-Control": "private, max-age=31536000, immutable",
                             "ETag": f'"{row.sha256}"'})


@bp.get("/evidence/<evidence_id>/thumbnail")
@require_roles(*HANDLERS, "rewards_office", "city_platform")
def download_thumbnail(evidence_id):
    row = attachments.describe(request_session(), evidence_id)
    if not row.has_thumbnail:
        raise ApiError(404, "this evidence has no thumbnail (videos have none)")
    return Response(stream_with_context(_stream(attachments.open_content(evidence_id, thumbnail=True))),
                    mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=31536000, immutable"})
