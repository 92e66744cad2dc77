"""HTTP routes of assessment, under /api/v1/assessment."""
from __future__ import annotations

from flask import Blueprint, jsonify

from servicekit.exports import table_response
from servicekit.openapi import doc
from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from . import assess, periods, records, schemas

bp = Blueprint("assessment", __name__, url_prefix="/api/v1/assessment")

STAFF = ("grid_staff", "district_ops", "admin")
OFFICE = ("district_ops", "admin")


def _period(key: str) -> periods.Period:
    return assess._parse(key)


@bp.post("/meetings")
@doc(body=schemas.Meeting, status=201, tags=["assessment: records"])
@require_roles(*STAFF)
def record_meeting():
    return write(records.record_meeting, json_body(schemas.Meeting()), current_identity(), status=201)


@bp.get("/meetings")
@doc(query=schemas.RecordQuery, tags=["assessment: records"])
@require_roles(*STAFF)
def list_meetings():
    args = query_args(schemas.RecordQuery())
    period = _period(args["period"])
    items = [m for m in records.list_meetings(request_session(), args["grid"], period.start, period.end)
             if current_identity().covers(m["grid_code"])]
    return jsonify(items=items)


@bp.post("/inspections")
@doc(body=schemas.Inspection, status=201, tags=["assessment: records"])
@require_roles(*STAFF)
def record_inspection():
    return write(records.record_inspection, json_body(schemas.Inspection()), current_identity(), status=201)


@bp.get("/inspections")
@doc(query=schemas.RecordQuery, tags=["assessment: records"])
@require_roles(*STAFF)
def list_inspections():
    args = query_args(schemas.RecordQuery())
    period = _period(args["period"])
    items = [i for i in records.list_inspections(request_session(), args["grid"], period.start, period.end)
             if current_identity().covers(i["inspected_grid"])]
    return jsonify(items=items)


@bp.get("/rules")
@doc(tags=["assessment: rules"])
@require_roles(*STAFF)
def current_rules():
    return jsonify(assess.rules(request_session()).to_dict())


@bp.post("/rules")
@doc(body=schemas.NewRules, status=201, tags=["assessment: rules"])
@require_roles(*OFFICE)
def add_rules():
    body = json_body(schemas.NewRules())
    return write(assess.add_rules, body["rules"], body["note"], current_identity(), status=201)


@bp.post("/periods/<key>/close")
@doc(status=200, tags=["assessment: periods"])
@require_roles(*OFFICE)
def close_period(key):
    return write(assess.close_month, key, current_identity())


@bp.post("/periods/<key>/scores")
@doc(body=schemas.Rescore, status=201, tags=["assessment: periods"])
@require_roles(*OFFICE)
def rescore(key):
    return write(assess.rescore, key, json_body(schemas.Rescore())["rule_version"], current_identity(), status=201)


@bp.get("/periods/<key>/scores")
@doc(query=schemas.ScoreQuery, tags=["assessment: periods"])
@require_roles(*STAFF)
def period_scores(key):
    args = query_args(schemas.ScoreQuery())
    session, who = request_session(), current_identity()
    if args["format"] != "json":
        return table_response(args["format"], f"考核结果{key}", assess.SCORE_HEADERS,
                              assess.score_rows(session, key, args["result_set"], who), title="考核结果")
    return jsonify(assess.scores(session, key, args["result_set"], args["parent"], who))


@bp.get("/periods/<key>/scores/<grid_code>")
@doc(query=schemas.ScoreQuery, tags=["assessment: periods"])
@require_roles(*STAFF)
def grid_score(key, grid_code):
    args = query_args(schemas.ScoreQuery())
    return jsonify(assess.explanation(request_session(), key, grid_code, args["result_set"], current_identity()))


@bp.get("/periods/<key>/subsidies")
@doc(query=schemas.ScoreQuery, tags=["assessment: subsidies"])
@require_roles(*STAFF, "rewards_office")
def period_subsidies(key):
    args = query_args(schemas.ScoreQuery())
    rows = list(assess.subsidy_rows(request_session(), key, current_identity()))
    if args["format"] != "json":
        return table_response(args["format"], f"网格员补贴{key}", assess.SUBSIDY_HEADERS, rows, title="补贴发放表")
    return jsonify(items=[dict(zip(("period", "grid_code", "person_id", "name", "role", "grade", "yuan",
                                    "amount_fen"), r)) for r in rows])


@bp.get("/flags")
@doc(query=schemas.FlagQuery, tags=["assessment: accountability"])
@require_roles(*STAFF)
def list_flags():
    return jsonify(items=assess.flag_list(request_session(), query_args(schemas.FlagQuery())["period"],
                                          current_identity()))
