"""HTTP routes of dispatch, under /api/v1/dispatch."""
from __future__ import annotations

from flask import Blueprint, jsonify

from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from . import cases, schemas

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1/dispatch")

ACTORS = ("grid_staff", "district_ops", "admin")
OFFICE = ("district_ops", "admin")


def _visible(case_id: str):
    data = cases.detail(request_session(), case_id)
    who = current_identity()
    if not who.district_wide and not (data["grid_code"] and who.covers(data["grid_code"])):
        from servicekit.errors import ApiError
        raise ApiError(404, f"no case {case_id}")  # outside one's grids is as good as absent
    return data


@bp.get("/cases/<case_id>")
@require_roles(*ACTORS)
def show_case(case_id):
    return jsonify(_visible(case_id))


@bp.get("/cases/<case_id>/chain")
@require_roles(*ACTORS)
def verify_chain(case_id):
    _visible(case_id)
    return jsonify(cases.verify_chain(request_session(), case_id))


@bp.post("/cases/<case_id>/actions/<action>")
@require_roles(*ACTORS)
def act(case_id, action):
    return write(cases.act, case_id, action, json_body(schemas.Action()), current_identity())


@bp.post("/cases/<case_id>/supervision")
@require_roles(*OFFICE)
def supervise(case_id):
    return write(cases.set_supervision, case_id, json_body(schemas.Supervision())["level"], current_identity())


@bp.get("/queue")
@require_roles(*ACTORS)
def grid_queue():
    return jsonify(cases.queue(request_session(), query_args(schemas.QueueQuery()), current_identity()))


@bp.get("/counts")
@require_roles(*OFFICE)
def case_counts():
    return jsonify(cases.counts(request_session()))
