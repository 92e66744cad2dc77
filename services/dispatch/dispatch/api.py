"""HTTP routes of dispatch, under /api/v1/dispatch."""
from __future__ import annotations

from flask import Blueprint, jsonify

from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from servicekit.exports import table_response
from servicekit.openapi import doc

from . import cases, ledgers, orders, schemas

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1/dispatch")

ACTORS = ("grid_staff", "district_ops", "admin")
OFFICE = ("district_ops", "admin")

# For the OpenAPI document only (servicekit.openapi.doc): a ledger is JSON, CSV or .xlsx by `format`.
_LEDGER_ANSWER = {"description": "the ledger (format=json, csv or xlsx)", "content": {
    "application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}}}}


def _visible(case_id: str):
    data = cases.detail(request_session(), case_id)
    who = current_identity()
    if not who.district_wide and not (data["grid_code"] and who.covers(data["grid_code"])):
        from servicekit.errors import ApiError
        raise ApiError(404, f"no case {case_id}")  # outside one's grids is as good as absent
    return data


@bp.get("/cases/<case_id>")
@doc(tags=["dispatch: cases"])
@require_roles(*ACTORS)
def show_case(case_id):
    return jsonify(_visible(case_id))


@bp.get("/cases/<case_id>/chain")
@doc(tags=["dispatch: cases"])
@require_roles(*ACTORS)
def verify_chain(case_id):
    _visible(case_id)
    return jsonify(cases.verify_chain(request_session(), case_id))


@bp.post("/cases/<case_id>/actions/<action>")
@doc(body=schemas.Action, tags=["dispatch: cases"])
@require_roles(*ACTORS)
def act(case_id, action):
    return write(cases.act, case_id, action, json_body(schemas.Action()), current_identity())


@bp.post("/cases/<case_id>/supervision")
@doc(body=schemas.Supervision, tags=["dispatch: cases"])
@require_roles(*OFFICE)
def supervise(case_id):
    return write(cases.set_supervision, case_id, json_body(schemas.Supervision())["level"], current_identity())


@bp.get("/queue")
@doc(query=schemas.QueueQuery, tags=["dispatch: cases"])
@require_roles(*ACTORS)
def grid_queue():
    return jsonify(cases.queue(request_session(), query_args(schemas.QueueQuery()), current_identity()))


@bp.get("/counts")
@doc(tags=["dispatch: cases"])
@require_roles(*OFFICE)
def case_counts():
    return jsonify(cases.counts(request_session()))


@bp.get("/orders")
@doc(tags=["dispatch: orders"])
@require_roles(*ACTORS, "city_platform")
def list_orders():
    return jsonify(items=orders.recent(request_session()))


@bp.get("/orders/<order_id>")
@doc(tags=["dispatch: emergency orders"])
@require_roles(*ACTORS, "city_platform")
def order_progress(order_id):
    return jsonify(orders.progress(request_session(), order_id))


@bp.post("/orders/<order_id>/tasks/<grid_code>/acknowledge")
@doc(body=schemas.Acknowledgement, tags=["dispatch: emergency orders"])
@require_roles(*ACTORS)
def acknowledge_order(order_id, grid_code):
    body = json_body(schemas.Acknowledgement())
    return write(orders.acknowledge, order_id, grid_code, current_identity(), body["measures"], body["evidence"])


@bp.post("/rectifications/<int:rectification_id>/follow-ups")
@doc(body=schemas.FollowUp, status=201, tags=["dispatch: ledgers"])
@require_roles(*ACTORS)
def follow_up(rectification_id):
    return write(ledgers.follow_up, rectification_id, json_body(schemas.FollowUp()), current_identity(), status=201)


@bp.get("/rectifications")
@doc(query=schemas.LedgerQuery, response=_LEDGER_ANSWER, tags=["dispatch: ledgers"])
@require_roles(*ACTORS)
def rectification_ledger():
    params = query_args(schemas.LedgerQuery())
    rows = ledgers.rectification_rows(request_session(), params, current_identity())
    if params["format"] == "json":
        return jsonify(items=[ledgers.view(r) for r in rows])
    return table_response(params["format"], "整改台账", ledgers.RECTIFICATION_HEADERS,
                          ledgers.rectification_table(rows), title="整改台账")


@bp.get("/transfers")
@doc(query=schemas.LedgerQuery, response=_LEDGER_ANSWER, tags=["dispatch: ledgers"])
@require_roles(*ACTORS)
def transfer_records():
    params = query_args(schemas.LedgerQuery())
    rows = list(ledgers.transfer_table(request_session(), params, current_identity()))
    if params["format"] == "json":
        return jsonify(items=[dict(zip(ledgers.TRANSFER_HEADERS, [str(v) if v is not None else None for v in r]))
                              for r in rows])
    return table_response(params["format"], "移送记录", ledgers.TRANSFER_HEADERS, rows, title="移送记录")


@bp.get("/assignment-rules")
@doc(tags=["dispatch: rules"])
@require_roles(*ACTORS)
def assignment_rules():
    return jsonify(items=cases.list_rules(request_session()))


@bp.put("/assignment-rules")
@doc(body=schemas.AssignmentRule, tags=["dispatch: rules"])
@require_roles(*OFFICE)
def set_assignment_rule():
    return write(cases.set_rule, json_body(schemas.AssignmentRule()))
