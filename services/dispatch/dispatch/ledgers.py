"""The ledgers the plan asks to keep: rectifications (整改台账) and transfers (移送记录)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from .models import case_history, cases, rectifications

RECTIFICATION_HEADERS = ["案件编号", "所属网格", "整改事项", "责任单位/人", "整改期限", "下达时间", "下达人",
                         "复查记录", "整改结果", "佐证材料"]
TRANSFER_HEADERS = ["案件编号", "问题类别", "所属网格", "移送对象", "职能部门", "移送时间", "移送人", "说明", "案件状态"]
RESULTS = {"ordered": "整改中", "done": "已整改", "failed": "未整改到位"}


def order(session: Session, case_row, data: dict, actor: str, evidence: list[str]) -> None:
    """A handled case that orders something put right opens a ledger line."""
    session.execute(insert(rectifications).values(
        case_id=case_row.case_id, grid_code=case_row.grid_code, what=data["what"], responsible=data["responsible"],
        deadline=data["deadline"], ordered_at=utcnow(), ordered_by=actor, follow_ups=[], result="ordered",
        evidence=list(evidence)))


def follow_up(session: Session, rectification_id: int, data: dict, who: Identity) -> dict:
    row = session.execute(select(rectifications).where(rectifications.c.id == rectification_id)).first()
    if row is None or not who.covers(row.grid_code):
        raise ApiError(404, f"no rectification {rectification_id}")
    entry = {"at": utcnow().isoformat(), "by": who.subject, "result": data["result"], "note": data.get("note"),
             "evidence": data.get("evidence") or []}
    session.execute(update(rectifications).where(rectifications.c.id == rectification_id).values(
        follow_ups=[*row.follow_ups, entry], result=data["result"] if data["result"] != "pending" else row.result,
        evidence=[*row.evidence, *(data.get("evidence") or [])]))
    return view(session.execute(select(rectifications).where(rectifications.c.id == rectification_id)).one())


def view(row) -> dict:
    return {"id": row.id, "case_id": row.case_id, "grid_code": row.grid_code, "what": row.what,
            "responsible": row.responsible, "deadline": row.deadline.isoformat(),
            "ordered_at": row.ordered_at.isoformat(), "ordered_by": row.ordered_by, "follow_ups": row.follow_ups,
            "result": row.result, "result_name": RESULTS.get(row.result, row.result), "evidence": row.evidence}


def _period(query, column, params):
    if params.get("since"):
        query = query.where(column >= params["since"])
    if params.get("until"):
        query = query.where(column < params["until"])
    return query


def rectification_rows(session: Session, params: dict, who: Identity):
    query = select(rectifications).order_by(rectifications.c.ordered_at)
    if params.get("grid"):
        query = query.where(rectifications.c.grid_code.startswith(params["grid"], autoescape=True))
    rows = [r for r in session.execute(_period(query, rectifications.c.ordered_at, params)).all()
            if who.covers(r.grid_code)]
    return rows


def rectification_table(rows):
    for r in rows:
        yield [r.case_id, r.grid_code, r.what, r.responsible, r.deadline, r.ordered_at, r.ordered_by,
               "; ".join(f"{f['at'][:16]} {f['by']} {RESULTS.get(f['result'], f['result'])} {f.get('note') or ''}"
                         for f in r.follow_ups), RESULTS.get(r.result, r.result), r.evidence]


def transfer_table(session: Session, params: dict, who: Identity):
    query = (select(case_history, cases.c.category, cases.c.state, cases.c.department_code, cases.c.referred_to)
             .join(cases, cases.c.case_id == case_history.c.case_id)
             .where(case_history.c.action == "refer").order_by(case_history.c.at))
    if params.get("grid"):
        query = query.where(case_history.c.grid_code.startswith(params["grid"], autoescape=True))
    for r in session.execute(query).all():
        if not who.covers(r.grid_code or ""):
            continue
        at = datetime.fromisoformat(r.at)
        if (params.get("since") and at < params["since"]) or (params.get("until") and at >= params["until"]):
            continue
        yield [r.case_id, r.category, r.grid_code, {"department": "职能部门", "city": "市级平台"}.get(r.referred_to),
               r.department_code, at, r.actor, r.note, r.state]
