"""Notice boards (公示牌) of level-4 grids and level-5 points.

The plan asks for a public board at each stating its boundaries on four sides
(四至), its duties, its responsible people and how to reach them. The board's QR
code opens the public report form already pointed at this grid, so a passer-by
reports a problem to exactly the people named on the board.
"""
from __future__ import annotations

import io
import os
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.errors import ApiError

from . import levels
from .catalogue import duties
from .models import grids
from .people import active_memberships

BOARD_LEVELS = (4, 5)


def report_url(code: str) -> str:
    base = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/report?{urlencode({'grid': code})}"


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")


def _order(role: str) -> int:
    # Leaders first, as the plan lists them: 第一网格长, 网格长, 副网格长, then the rest.
    return ["first_leader", "chief", "leader", "unit_leader", "deputy_chief", "deputy_leader",
            "grid_member"].index(role)


def board(session: Session, code: str) -> dict:
    grid = session.execute(select(grids).where(grids.c.code == code)).first()
    if grid is None:
        raise ApiError(404, f"no grid {code}")
    if grid.level not in BOARD_LEVELS:
        raise ApiError(422, "notice boards are for level-4 grids and level-5 points",
                       fields={"code": [f"level {grid.level}"]})
    chain = []
    parent = grid.parent_code
    while parent:
        row = session.execute(select(grids.c.code, grids.c.name, grids.c.parent_code)
                              .where(grids.c.code == parent)).one()
        chain.append({"code": row.code, "name": row.name})
        parent = row.parent_code
    members = sorted(active_memberships(session, grid_code=code), key=lambda m: (_order(m.role), m.id))
    return {
        "code": grid.code, "name": grid.name, "level": grid.level, "level_name": levels.LEVEL_NAMES[grid.level],
        "kind_name": levels.KINDS[grid.level].get(grid.kind, grid.kind), "status": grid.status,
        "belongs_to": list(reversed(chain)), "four_sides": grid.four_sides, "address": grid.address,
        "duties": duties(session, grid.level),
        "people": [{"role": m.role, "role_name": levels.ROLES[m.role].name, "name": m.name,
                    "title": m.title, "phone": m.phone} for m in members],
        "report_url": report_url(grid.code),
        "hotline": os.environ.get("PUBLIC_HOTLINE", "12369"),
    }
