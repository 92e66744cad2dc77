"""HTTP routes of rewards, under /api/v1/rewards. Only the reward office, except a reporter's own status."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from servicekit.errors import ApiError
from servicekit.exports import table_response
from servicekit.identity import ROLES
from servicekit.openapi import doc
from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, runtime, write

from . import awards, schemas

bp = Blueprint("rewards", __name__, url_prefix="/api/v1/rewards")
OFFICE = ("rewards_office",)


@bp.get("/status/<tracking_code>")
@doc(tags=["rewards: reporters"])
@require_roles(*sorted(ROLES))
def reporter_status(tracking_code):
    return jsonify(awards.reporter_status(request_session(), tracking_code))


@bp.get("/queue/<which>")
@doc(tags=["rewards: office"])
@require_roles(*OFFICE)
def office_queue(which):
    if which not in ("to_review", "to_approve", "to_pay"):
        raise ApiError(404, "queues: to_review, to_approve, to_pay")
    return jsonify(items=awards.queue(request_session(), which))


@bp.get("/awards/<award_id>")
@doc(tags=["rewards: office"])
@require_roles(*OFFICE)
def show_award(award_id):
    return jsonify(awards.view(request_session(), awards._get(request_session(), award_id)))


@bp.post("/awards/<award_id>/pay")
@doc(body=schemas.Payment, tags=["rewards: office"])
@require_roles(*OFFICE)
def pay(award_id):
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise ApiError(400, "a payment carries an Idempotency-Key header", fields={"Idempotency-Key": ["required"]})
    body = json_body(schemas.Payment()) | {"idempotency_key": key}
    return write(awards.act, award_id, "pay", body, current_identity())


@bp.post("/awards/<award_id>/claim")
@doc(body=schemas.Claim, tags=["rewards: office"])
@require_roles(*OFFICE)
def claim(award_id):
    return write(awards.claim, award_id, json_body(schemas.Claim()), current_identity(), runtime().settings)


@bp.post("/awards/<award_id>/<action>")
@doc(body=schemas.Action, tags=["rewards: office"])
@require_roles(*OFFICE)
def act(award_id, action):
    if action not in ("review", "approve", "cancel", "claw_back"):
        raise ApiError(404, "actions: review, approve, pay, cancel, claw_back")
    return write(awards.act, award_id, action, json_body(schemas.Action()), current_identity())


@bp.get("/awards/<award_id>/reporter")
@doc(query=schemas.Purpose, tags=["rewards: office"])
@require_roles(*OFFICE)
def reporter(award_id):
    purpose = query_args(schemas.Purpose())["purpose"]
    return write(awards.reporter_identity, award_id, purpose, current_identity(), runtime().settings)


@bp.put("/budgets/<int:year>")
@doc(body=schemas.Budget, status=201, tags=["rewards: budget"])
@require_roles(*OFFICE)
def grant_budget(year):
    return write(awards.grant_budget, year, json_body(schemas.Budget())["ceiling_fen"], current_identity(),
                 status=201)


@bp.get("/budgets/<int:year>")
@doc(tags=["rewards: budget"])
@require_roles(*OFFICE)
def show_budget(year):
    return jsonify(awards.budget(request_session(), year))


@bp.get("/batches/payable")
@doc(query=schemas.Format, tags=["rewards: office"])
@require_roles(*OFFICE)
def payable_batch():
    fmt = query_args(schemas.Format())["format"]
    return table_response(fmt, "待支付清单", awards.PAYABLE_HEADERS, awards.payable_rows(request_session()),
                          title="待支付清单")


@bp.post("/reconciliation")
@doc(body=schemas.Reconciliation, tags=["rewards: office"])
@require_roles(*OFFICE)
def reconcile():
    """Import the bank's result file: all lines apply or none (422 naming each refused line).

    A line is `confirmed`, `failed` (the transfer never went through) or `returned` (退汇: a
    transfer confirmed earlier that the bank sent back, with `returned_on` and `reason` when
    the file gives them). Failed and returned payments put their award back in the to_pay
    queue, to be paid under a new reference. Importing a file again changes nothing."""
    return write(awards.reconcile, json_body(schemas.Reconciliation())["lines"], current_identity())
