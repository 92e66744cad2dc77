"""Emergency orders: fanned out to the level-2 grids, acknowledged, measures reported.

An order comes from a city instruction of kind emergency_order. Every targeted
level-2 grid (all of them unless the city names some) gets a task it must
acknowledge and then report its measures on. While a heavy-pollution alert's
window is open, new cases run on the policy's emergency rules.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from envgrid_contracts.order import ORDER_ACKNOWLEDGED, ORDER_ISSUED
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from . import notify, sla
from .models import grid_view, order_tasks, orders
from .publishing import OUTBOX

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALERT_KINDS = ("heavy_pollution", "sudden_incident")


def _when(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def issue(session: Session, incident_id: str, city: dict) -> str:
    details = city["details"]
    targets = details.get("targets") or session.execute(
        select(grid_view.c.code).where(grid_view.c.level == 2, grid_view.c.status == "active")
        .order_by(grid_view.c.code)).scalars().all()
    now = utcnow()
    order_id = f"O{now.astimezone(sla.SHANGHAI):%Y%m%d}{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"
    session.execute(insert(orders).values(
        order_id=order_id, incident_id=incident_id, city_reference=city.get("reference"),
        order_kind=details["order_kind"], alert_level=details["alert_level"],
        window_start=_when(details["window_start"]), window_end=_when(details["window_end"]),
        measures=details.get("measures") or [], created_at=now))
    session.execute(insert(order_tasks), [{"order_id": order_id, "grid_code": code, "evidence": []}
                                          for code in targets])
    OUTBOX.add(session, ORDER_ISSUED, {
        "order_id": order_id, "incident_id": incident_id, "city_reference": city.get("reference"),
        "order_kind": details["order_kind"], "alert_level": details["alert_level"],
        "window_start": _when(details["window_start"]).isoformat(),
        "window_end": _when(details["window_end"]).isoformat(), "targets": list(targets)})
    for code in targets:
        notify.queue(session, "grid_leaders", f"【应急指令 {details['alert_level']}】{order_id}:请立即响应并上报落实措施。"
                     + ";".join(details.get("measures") or []), grid_code=code)
    return order_id


# Whether a heavy-pollution or sudden-incident alert window is open at the parameter `alert_at`:
# a condition for other statements (a new case is inserted with it), not a query of its own.
ALERT_OPEN = exists().where(orders.c.order_kind.in_(ALERT_KINDS), orders.c.window_start <= bindparam("alert_at"),
                            orders.c.window_end > bindparam("alert_at"))


def acknowledge(session: Session, order_id: str, grid_code: str, who: Identity, measures: str | None,
                evidence: list[str]) -> dict:
    task = session.execute(select(order_tasks).where(order_tasks.c.order_id == order_id,
                                                     order_tasks.c.grid_code == grid_code)).first()
    if task is None:
        raise ApiError(404, f"order {order_id} has no task for grid {grid_code}")
    if not who.covers(grid_code):
        raise ApiError(403, f"grid {grid_code} is outside your grids")
    now = utcnow()
    values = {}
    if task.acknowledged_at is None:
        values.update(acknowledged_at=now, acknowledged_by=who.subject)
    if measures:
        values.update(measures_reported_at=now, measures=measures, evidence=[*task.evidence, *evidence])
    if not values:
        raise ApiError(409, "already acknowledged; report the measures taken")
    session.execute(update(order_tasks).where(order_tasks.c.id == task.id).values(**values))
    OUTBOX.add(session, ORDER_ACKNOWLEDGED, {"order_id": order_id, "grid_code": grid_code, "actor": who.subject,
                                             "at": now.isoformat(), "measures_reported": bool(measures)})
    return progress(session, order_id)


def progress(session: Session, order_id: str) -> dict:
    order = session.execute(select(orders).where(orders.c.order_id == order_id)).first()
    if order is None:
        raise ApiError(404, f"no order {order_id}")
    tasks = session.execute(select(order_tasks, grid_view.c.name).outerjoin(
        grid_view, grid_view.c.code == order_tasks.c.grid_code).where(order_tasks.c.order_id == order_id)
        .order_by(order_tasks.c.grid_code)).all()
    return {"order_id": order_id, "order_kind": order.order_kind, "alert_level": order.alert_level,
            "window": [order.window_start.isoformat(), order.window_end.isoformat()],
            "acknowledged": sum(t.acknowledged_at is not None for t in tasks),
            "reported": sum(t.measures_reported_at is not None for t in tasks), "targets": len(tasks),
            "tasks": [{"grid_code": t.grid_code, "grid_name": t.name, "acknowledged_at":
                       t.acknowledged_at.isoformat() if t.acknowledged_at else None,
                       "acknowledged_by": t.acknowledged_by, "measures": t.measures,
                       "measures_reported_at": t.measures_reported_at.isoformat() if t.measures_reported_at else None}
                      for t in tasks]}


def recent(session: Session, limit: int = 50) -> list[dict]:
    """The latest orders with their progress: who acknowledged, who reported, at a glance."""
    ids = session.execute(select(orders.c.order_id).order_by(orders.c.created_at.desc()).limit(limit)).scalars().all()
    return [{k: v for k, v in progress(session, order_id).items() if k != "tasks"} for order_id in ids]
