"""HTTP routes of incidents, under /api/v1/incidents. Parse, authorise, call a use case."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, stream_with_context

from servicekit.errors import ApiError
from servicekit.identity import ROLES
from servicekit.openapi import doc
from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from . import attachments, intake, schemas
from .evidence import MAX_VIDEO_BYTES, limits_from_env

bp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents")

ANYONE = tuple(sorted(ROLES))
OFFICE = ("district_ops", "admin")
HANDLERS = ("grid_staff", "district_ops", "admin")
# Multipart overhead on top of the largest file allowed.
UPLOAD_SLACK = 64 * 1024

# For the OpenAPI document only (servicekit.openapi.doc): the bodies that are not JSON.
_UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "a photo or a video"}}}}}}
_FILE_ANSWER = {"description": "the stored photo or video", "content": {
    "image/*": {"schema": {"type": "string", "format": "binary"}},
    "video/*": {"schema": {"type": "string", "format": "binary"}}}}
_THUMBNAIL_ANSWER = {"description": "a JPEG thumbnail", "content": {"image/jpeg": {
    "schema": {"type": "string", "format": "binary"}}}}


@bp.post("/reports")
@doc(body=schemas.ReportCreate, status=201, tags=["incidents: reports"])
@require_roles(*ANYONE)
def file_report():
    return write(intake.report, json_body(schemas.REPORT_CREATE), current_identity(), status=201)


@bp.get("/reports")
@doc(query=schemas.ReportSearch, tags=["incidents: reports"])
@require_roles(*OFFICE)
def search_reports():
    return jsonify(intake.search(request_session(), query_args(schemas.REPORT_SEARCH)))


@bp.get("/reports/<incident_id>")
@doc(tags=["incidents: reports"])
@require_roles(*HANDLERS)
def show_report(incident_id):
    return jsonify(intake.staff_view(request_session(), incident_id, current_identity()))


@bp.get("/reports/<incident_id>/reporter")
@doc(query=schemas.AccessPurpose, tags=["incidents: reports"])
@require_roles("rewards_office")
def show_reporter(incident_id):
    purpose = query_args(schemas.ACCESS_PURPOSE)["purpose"]
    return write(intake.reporter_identity, incident_id, current_identity(), purpose)


@bp.post("/reports/<incident_id>/reporter")
@doc(body=schemas.Claimant, tags=["incidents: reporters"])
@require_roles("rewards_office")
def record_claimant(incident_id):
    return write(intake.record_claimant, incident_id, json_body(schemas.CLAIMANT), current_identity())


@bp.post("/city-instructions")
@doc(body=schemas.CityInstructionCreate, status=201, tags=["incidents: city instructions"])
@require_roles("city_platform")
def city_instruction():
    data = json_body(schemas.CITY_INSTRUCTION_CREATE)
    session = request_session()
    with session.begin():
        answer, created = intake.city_instruction(session, data, current_identity())
    return jsonify(answer), (201 if created else 200)


@bp.post("/patrols")
@doc(body=schemas.PatrolCreate, status=201, tags=["incidents: patrols"])
@require_roles("grid_staff")
def record_patrol():
    return write(intake.record_patrol, json_body(schemas.PATROL_CREATE), current_identity(), status=201)


@bp.get("/patrols")
@doc(query=schemas.PatrolSearch, tags=["incidents: patrols"])
@require_roles(*HANDLERS)
def list_patrols():
    return jsonify(intake.patrol_list(request_session(), query_args(schemas.PATROL_SEARCH), current_identity()))


@bp.get("/track/<tracking_code>")
@doc(tags=["incidents: reports"])
@require_roles(*ANYONE)
def track(tracking_code):
    return jsonify(intake.track(request_session(), tracking_code))


# -- evidence ------------------------------------------------------------------
@bp.post("/evidence")
@doc(body=_UPLOAD_BODY, status=201, tags=["incidents: evidence"])
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
@doc(body=schemas.AttachEvidence, status=201, tags=["incidents: evidence"])
@require_roles(*ANYONE)
def attach_evidence(incident_id):
    body = json_body(schemas.ATTACH_EVIDENCE)
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
@doc(response=_FILE_ANSWER, tags=["incidents: evidence"])
@require_roles(*HANDLERS, "rewards_office", "city_platform")
def download_evidence(evidence_id):
    row = attachments.describe(request_session(), evidence_id)
    handle = attachments.open_content(evidence_id)
    return Response(stream_with_context(_stream(handle)), mimetype=row.mime,
                    headers={"Content-Length": str(row.size), "Cache-Control": "private, max-age=31536000, immutable",
                             "ETag": f'"{row.sha256}"'})


@bp.get("/evidence/<evidence_id>/thumbnail")
@doc(response=_THUMBNAIL_ANSWER, tags=["incidents: evidence"])
@require_roles(*HANDLERS, "rewards_office", "city_platform")
def download_thumbnail(evidence_id):
    row = attachments.describe(request_session(), evidence_id)
    if not row.has_thumbnail:
        raise ApiError(404, "this evidence has no thumbnail (videos have none)")
    return Response(stream_with_context(_stream(attachments.open_content(evidence_id, thumbnail=True))),
                    mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=31536000, immutable"})
