"""Notifications to the people concerned, through an adapter, never blocking a case action.

`queue` writes a notification row in the case action's own transaction; a worker
timer delivers it. Adapters (NOTIFY_ADAPTER): `log` (default: a JSON log line,
for a district that has not wired one yet), `webhook` (JSON POST to
NOTIFY_WEBHOOK_URL) and `wechat_work` (the WeChat Work group robot's text
message, mentioning the leaders' mobile numbers, to NOTIFY_WEBHOOK_URL).
"""
from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from servicekit.tables import utcnow

from .grid_view import leaders as grid_leaders
from .models import notifications

log = logging.getLogger(__name__)


_INSERT = insert(notifications)  # built once; the values go as parameters (SQLAlchemy's statement cache)


def queue(session: Session, audience: str, text: str, grid_code: str | None = None,
          case_id: str | None = None, leaders: list[dict] | None = None) -> None:
    """`leaders`: the grid's leaders when the caller has just read them (else they are read here)."""
    if grid_code and audience == "grid_leaders":
        mobiles = [p["phone"] for p in (leaders if leaders is not None else grid_leaders(session, grid_code))]
    else:
        mobiles = []
    session.execute(_INSERT, {
        "case_id": case_id, "grid_code": grid_code, "audience": audience, "text": text, "mobiles": mobiles,
        "created_at": utcnow(), "attempts": 0, "next_attempt_at": utcnow(), "delivered_at": None, "log": []})


def message(adapter: str, row) -> dict:
    """The body an adapter sends for a notification row."""
    if adapter == "wechat_work":
        return {"msgtype": "text", "text": {"content": row.text, "mentioned_mobile_list": list(row.mobiles)}}
    return {"audience": row.audience, "grid_code": row.grid_code, "case_id": row.case_id, "text": row.text,
            "mobiles": list(row.mobiles), "created_at": row.created_at.isoformat()}


def _send(adapter: str, url: str | None, body: dict) -> str | None:
    """None when delivered, else the reason."""
    if adapter == "log":
        log.info("notification", extra={"notification": body})
        return None
    if not url:
        return "NOTIFY_WEBHOOK_URL is not set"
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = response.read()
    except OSError as exc:
        return str(exc)[:200]
    if adapter == "wechat_work":
        try:
            code = json.loads(answer).get("errcode")
        except ValueError:
            return "robot answered something that is not JSON"
        if code != 0:
            return f"robot errcode {code}"
    return None


def deliver(settings, db, limit: int = 100) -> None:
    adapter = os.environ.get("NOTIFY_ADAPTER", "log")
    url = os.environ.get("NOTIFY_WEBHOOK_URL")
    with db.transaction() as session:
        query = (select(notifications).where(notifications.c.delivered_at.is_(None),
                                             notifications.c.next_attempt_at <= utcnow())
                 .order_by(notifications.c.id).limit(limit))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        for row in session.execute(query).all():
            error = _send(adapter, url, message(adapter, row))
            now = utcnow()
            values = {"attempts": row.attempts + 1,
                      "log": [*row.log, {"at": now.isoformat(), "adapter": adapter, "error": error}]}
            if error is None:
                values["delivered_at"] = now
            else:
                values["next_attempt_at"] = now + min(timedelta(seconds=2 ** min(row.attempts, 10)), timedelta(hours=1))
            session.execute(update(notifications).where(notifications.c.id == row.id).values(**values))
