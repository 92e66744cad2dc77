"""Tables out as CSV or Excel (.xlsx), Chinese headers and text intact.

Ledgers and score sheets are read by people in Excel or WPS: CSV gets a UTF-8
byte-order mark, without which Excel on a Chinese Windows reads UTF-8 as GBK and
shows mojibake; .xlsx has no such problem and keeps column widths.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Iterable, Sequence

from flask import Response

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else value


def _safe_text(value):
    # A cell starting with = + - @ is a formula to Excel: an exported name like
    # "=HYPERLINK(...)" must stay text (CSV/formula injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_safe_text(_cell(v)) for v in row])
    return "\ufeff".encode("utf-8") + buffer.getvalue().encode("utf-8")


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]  # Excel's limit on sheet names
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) * 2 for h in headers]
    for row in rows:
        values = [_safe_text(_cell(v)) for v in row]
        sheet.append(values)
        for i, value in enumerate(values):
            # CJK characters are about two columns wide.
            text = str(value)
            widths[i] = max(widths[i], sum(2 if ord(ch) > 0x2E80 else 1 for ch in text))
    for i, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=i + 1).column_letter].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_response(fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence],
                   title: str = "Sheet1") -> Response:
    """A download of `rows` as `fmt` ("csv" or "xlsx"); `filename` without extension, may be Chinese."""
    from urllib.parse import quote
    if fmt == "xlsx":
        body, mime = to_xlsx(headers, rows, title), XLSX_MIME
    else:
        fmt, body, mime = "csv", to_csv(headers, rows), CSV_MIME
    # RFC 6266/5987: an ASCII fallback plus the UTF-8 name, so Chinese file names survive.
    disposition = f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(filename)}.{fmt}"
    return Response(body, mimetype=mime, headers={"Content-Disposition": disposition})
