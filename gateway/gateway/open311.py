"""Open311 GeoReport v2 on the gateway, under /open311/v2: existing Open311 apps and city systems
report problems and follow them without knowing EnvGrid's own API.

    GET  discovery.json             where this endpoint is and what it speaks
    GET  services.json              the district's categories the public may report (registry)
    GET  services/<code>.json       a service definition (no extra attributes: metadata is false)
    POST requests.json              a public report (incidents, channel public_web), answered with its id
    GET  requests/<id>.json         one report's public status (incidents' tracking page)
    GET  requests.json?service_request_id=a,b,c   several of them

The service_request_id is the report's tracking code: the reporter's own key to
it. Listing every report is not offered: a reporter's report is theirs to follow,
not everybody's to browse. Every route answers JSON (.json) or XML (.xml); errors
are the spec's array `[{"code": 400, "description": "..."}]` with the HTTP status.

The gateway calls the services as the anonymous public caller, whatever an
Open311 client sends as api_key: these routes give the public's rights only.
Mapping is done by pure functions on plain data (tested without Flask); the
routes only parse, call and answer.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
from datetime import datetime
from typing import Mapping
from urllib.parse import quote
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from servicekit.errors import ApiError
from servicekit.openapi import doc
from servicekit.web import public, runtime

from . import proxy, schemas

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-28T00:00:00Z"  # when this endpoint's behaviour last changed
FORMATS = {"json": "application/json", "xml": "text/xml"}
MAX_IDS = 50
SERVICES_TTL_S = 60.0
# Categories the city platform files as instructions, not problems the public reports.
NOT_PUBLIC_GROUPS = frozenset({"city"})
OPEN_STATUSES = frozenset({"received", "processing"})
# incidents' body field -> the Open311 field a client sent it as
FIELD_NAMES = {"category": "service_code", "location": "lat/long", "description": "description",
               "address": "address_string", "reporter": "first_name/last_name/phone", "evidence": "media_url"}
PRIVACY_NOTE = ("Requests are read by service_request_id (the tracking code given when reporting) only: "
                "reports are private to their reporters, so no list of all requests is offered. "
                "仅可凭查询编号查询办理进度,不提供全部报告的列表。")
# incidents' phone rule (mobile or landline), after +86 and spaces are taken off
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_ID = re.compile(r"^[0-9A-Za-z -]{1,20}$")
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

open311_blueprint = Blueprint("open311", __name__, url_prefix=PREFIX)


class Open311Error(Exception):
    """An answer in the spec's error format: `[{"code": status, "description": ...}, ...]`."""

    def __init__(self, status: int, *descriptions: str, headers: dict | None = None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions or ("error",)
        self.headers = headers or {}

    @property
    def errors(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


# -- mapping: plain data in, plain data out ----------------------------------------------------
def services_from_categories(items: list[dict]) -> list[dict]:
    """The registry's categories → Open311 services: active ones the public may report."""
    return [{"service_code": c["code"], "service_name": c["name"], "description": c.get("name_en") or c["name"],
             "metadata": False, "type": "realtime", "keywords": ", ".join(c["code"].split("_")),
             "group": c.get("group") or ""}
            for c in items if c.get("active", True) and c.get("group") not in NOT_PUBLIC_GROUPS]


def service_definition(code: str) -> dict:
    return {"service_code": code, "attributes": []}


def _text(fields: Mapping, name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _coordinate(fields: Mapping, name: str, bound: float) -> float:
    raw = fields.get(name)
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = float(raw if isinstance(raw, (int, float)) else str(raw).strip())
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must be a number between -{bound:g} and {bound:g} (WGS-84)")
    return value


def normalise_phone(text: str | None) -> str | None:
    """A phone incidents accepts, from what people type (+86, spaces, dashes in a mobile), or None."""
    if not text:
        return None
    phone = re.sub(r"[\s()]", "", text)
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix):]
    if re.fullmatch(r"1[\d-]{10,12}", phone):
        phone = phone.replace("-", "")
    return phone if _PHONE.match(phone) else None


def reporter_name(first: str | None, last: str | None) -> str | None:
    """Chinese names are family name first and unspaced (李 + 娜 = 李娜); others "First Last"."""
    parts = [p for p in ((last, first) if _CJK.search((first or "") + (last or "")) else (first, last)) if p]
    if not parts:
        return None
    return ("" if _CJK.search("".join(parts)) else " ").join(parts)


def report_from_open311(fields: Mapping, offered: set[str] | None = None,
                        has_media: bool = False) -> tuple[dict, list[str]]:
    """An Open311 POST's fields → (incidents' report body, notices for the reporter).

    Raises Open311Error(400) naming the Open311 field when the request cannot make a report.
    `offered`: the service codes the public may report, when known (else incidents decides);
    `has_media`: a file came with the request (multipart), which is not kept either.
    """
    code = _text(fields, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required (see services.json)")
    if offered is not None and code not in offered:
        raise Open311Error(400, f"service_code {code} is not offered here (see services.json)")
    description = _text(fields, "description")
    if description is None:
        raise Open311Error(400, "description is required: say what you see and where")
    body: dict = {"channel": "public_web", "category": code, "description": description}
    has_lat, has_long = _text(fields, "lat") is not None, _text(fields, "long") is not None
    if has_lat != has_long:
        raise Open311Error(400, "lat and long go together: give both, or an address_string")
    if has_lat:
        body["location"] = {"lon": _coordinate(fields, "long", 180), "lat": _coordinate(fields, "lat", 90),
                            "datum": "wgs84"}
    address = _text(fields, "address_string")
    if address:
        body["address"] = address
    if not has_lat and not address:
        problem = "address_id is not supported here; " if _text(fields, "address_id") else ""
        raise Open311Error(400, f"{problem}give where it is: lat and long, or an address_string")

    notes = []
    name = reporter_name(_text(fields, "first_name"), _text(fields, "last_name"))
    given_phone = _text(fields, "phone")
    phone = normalise_phone(given_phone)
    if name and phone:
        body["reporter"] = {"name": name, "phone": phone}
    elif name or given_phone:
        notes.append("未同时留下姓名和有效电话,按匿名报告受理 (a name and a valid phone are both needed "
                     "to be contacted or rewarded; the report is anonymous)")
    if _text(fields, "media_url") or has_media:
        notes.append("照片未随本请求保存 (media is not taken from Open311 requests)")
    if _text(fields, "email"):
        notes.append("不通过电子邮件通知,请凭查询编号查询进度 (no e-mail updates: follow the request by its id)")
    return body, notes


def service_notice(answer: dict, notes: list[str]) -> str:
    """What incidents answered, told to the reporter."""
    parts = [f"已受理,查询编号 {answer['tracking_code']},请妥善保存以查询办理进度 "
             f"(received; keep this id to follow the request)"]
    if answer.get("outside_district"):
        parts.append("该位置不在本区范围内,将由区里核实 (the place is outside the district; it will be checked)")
    if answer.get("duplicate_of"):
        parts.append("附近已有同类报告,将一并办理 (a report of the same problem nearby is already open; "
                     "both are handled together)")
    return ";".join(parts + notes)


def errors_from_upstream(status: int, body: dict) -> Open311Error:
    """incidents' error answer → an Open311 error naming the Open311 fields (422 → 400)."""
    error = (body or {}).get("error") or {}
    fields = error.get("fields") or {}
    descriptions = []
    for name, messages in fields.items():
        for message in _flatten(messages):
            descriptions.append(f"{FIELD_NAMES.get(name, name)}: {message}")
    if not descriptions:
        descriptions.append(error.get("message") or f"the service answered {status}")
    return Open311Error(400 if status == 422 else status, *descriptions)


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {m}" if key != "_schema" else m for key, value in messages.items() for m in _flatten(value)]
    if isinstance(messages, (list, tuple)):
        return [m for item in messages for m in _flatten(item)]
    return [str(messages)]


def _w3c(text: str | None) -> str | None:
    """ISO 8601 to the second (W3C datetime, as the spec shows): '2026-05-01T02:03:04+00:00'."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).isoformat(timespec="seconds")
    except ValueError:
        return text


def request_from_track(page: dict) -> dict:
    """incidents' tracking page → an Open311 service request.

    received/processing are "open"; closed/rejected/duplicate are "closed", with
    the district's public answer as status_notes. The tracking page tells nothing
    about the place or the reporter, so neither does this.
    """
    updates = page.get("updates") or []
    times = [u["at"] for u in updates if u.get("at")] or [page["reported_at"]]
    latest = max(times, key=lambda t: datetime.fromisoformat(t))
    notes = page.get("answer")
    if notes is None and page["status"] == "duplicate":
        notes = "与先前的同类报告合并办理 (handled with an earlier report of the same problem)"
    return {"service_request_id": page["tracking_code"],
            "status": "open" if page["status"] in OPEN_STATUSES else "closed",
            "status_notes": notes,
            "service_name": page.get("category_name") or page["category"],
            "service_code": page["category"],
            "requested_datetime": _w3c(page["reported_at"]),
            "updated_datetime": _w3c(latest)}


def requested_ids(raw: str | None) -> list[str]:
    """service_request_id=a,b,c → the distinct ids in order; 400 without any, or with too many."""
    ids = list(dict.fromkeys(i.strip() for i in (raw or "").split(",") if i.strip()))
    if not ids:
        raise Open311Error(400, "service_request_id is required (one or more, comma separated). " + PRIVACY_NOTE)
    if len(ids) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id values per request")
    return ids


def _when(params: Mapping, name: str) -> datetime | None:
    raw = _text(params, name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))  # a '+' in a query string arrives as a space
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C datetime (e.g. 2026-05-01T08:00:00+08:00)") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone offset (e.g. +08:00 or Z)")
    return value


def filter_requests(found: list[dict], params: Mapping) -> list[dict]:
    """The spec's optional filters on a list: service_code, status (open/closed), start_date, end_date."""
    codes = {c.strip() for c in (_text(params, "service_code") or "").split(",") if c.strip()}
    statuses = {s.strip().lower() for s in (_text(params, "status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status is open, closed or both (open,closed)")
    start, end = _when(params, "start_date"), _when(params, "end_date")
    out = []
    for item in found:
        at = datetime.fromisoformat(item["requested_datetime"])
        if (codes and item["service_code"] not in codes) or (statuses and item["status"] not in statuses) \
                or (start and at < start) or (end and at > end):
            continue
        out.append(item)
    return out


def discovery(base_url: str, production: bool, contact: str | None = None) -> dict:
    return {"changeset": CHANGESET,
            "contact": contact or "EnvGrid district office (区生态环境保护网格化监管)",
            "key_service": "No api_key is needed: reports are filed as anonymous public reports. " + PRIVACY_NOTE,
            "endpoints": [{"specification": SPECIFICATION, "url": base_url, "changeset": CHANGESET,
                           "type": "production" if production else "test",
                           "formats": [FORMATS["json"], FORMATS["xml"]]}]}


# -- XML: the spec's original format ------------------------------------------------------------
_ITEMS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}


def _fill(element: ET.Element, value) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        for inner in value:
            _fill(ET.SubElement(element, _ITEMS.get(element.tag, "item")), inner)
    else:
        element.text = _XML_UNSAFE.sub("", str(value))


def to_xml(root: str, item: str | None, data) -> bytes:
    """`data` under <root>: a list as one <item> per entry, a dict as child elements."""
    top = ET.Element(root)
    if isinstance(data, list):
        for entry in data:
            _fill(ET.SubElement(top, item), entry)
    else:
        _fill(top, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


# -- answering --------------------------------------------------------------------------------
def _answer(data, fmt: str, root: str, item: str | None, status: int = 200, headers: dict | None = None):
    if fmt == "xml":
        response = Response(to_xml(root, item, data), mimetype="text/xml")
        response.charset = "utf-8"
    else:
        response = current_app.json.response(data)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _format() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in FORMATS else ("xml" if request.path.endswith(".xml") else "json")


@open311_blueprint.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    return _answer(exc.errors, _format(), "errors", "error", exc.status, exc.headers)


@open311_blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError):
    # Raised before the route (a forged identity header) or by the gateway's calls (503, 504, 429).
    headers = dict(getattr(exc, "headers", None) or {})
    return _open311_error(Open311Error(exc.status, exc.message, headers=headers))


@open311_blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return _open311_error(Open311Error(exc.code or 500, exc.description or exc.name))


@open311_blueprint.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("unhandled error in Open311")
    return _open311_error(Open311Error(500, f"internal error; quote the request id {g.get('request_id', '')}"))


def _as_public() -> None:
    """Open311 callers are the public: the same per-IP limit as any anonymous call through the gateway."""
    proxy.limit(proxy.ANONYMOUS, "public")


def _offered_services(*, quick: bool = False) -> list[dict] | None:
    """The registry's categories as services, cached SERVICES_TTL_S per process.

    A registry that does not answer leaves the last list in place (stale beats none);
    without any list, `quick` callers get None (and carry on), others a 503.
    """
    cache = current_app.extensions.setdefault("open311", {"lock": threading.Lock(), "at": None, "services": None,
                                                          "failed_at": None})
    now = time.monotonic()
    with cache["lock"]:
        fresh = cache["at"] is not None and now - cache["at"] < SERVICES_TTL_S
        recently_failed = cache["failed_at"] is not None and now - cache["failed_at"] < SERVICES_TTL_S
        if fresh or (quick and recently_failed):
            return cache["services"]
        try:
            status, body = proxy.call_upstream("grid-registry", "GET", "/api/v1/registry/categories",
                                               proxy.ANONYMOUS, timeout_s=3.0 if quick else 10.0)
            if status != 200:
                raise ApiError(503 if status >= 500 else 502, f"the registry answered {status}")
        except ApiError as exc:
            cache["failed_at"] = now
            if cache["services"] is not None or quick:
                log.warning("Open311 services: registry unavailable", extra={"reason": exc.message})
                return cache["services"]
            raise Open311Error(503, "the list of services is unavailable for the moment; try again shortly") \
                from None
        cache["services"] = services_from_categories(body.get("items") or [])
        cache["at"], cache["failed_at"] = now, None
        return cache["services"]


def _track(request_id: str) -> dict | None:
    """An Open311 request by its id (the tracking code), or None if there is none."""
    if not _ID.match(request_id):
        return None
    status, body = proxy.call_upstream("incidents", "GET", f"/api/v1/incidents/track/{quote(request_id, safe='')}",
                                       proxy.ANONYMOUS)
    if status == 404:
        return None
    if status != 200:
        raise errors_from_upstream(status, body)
    return request_from_track(body)


def _incoming_fields() -> dict:
    """The POST's fields: form-encoded (the spec), multipart, or a JSON object; query parameters too."""
    fields = request.args.to_dict()
    if request.is_json:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise Open311Error(400, "the body is not a JSON object")
        fields.update(payload)
    else:
        fields.update(request.form.to_dict())
    return fields


# -- routes -----------------------------------------------------------------------------------
FMT = "<any(json, xml):fmt>"
TAG = "open311: GeoReport v2"


def _answers(json_schema: dict, root: str, item: str | None = None, description: str | None = None) -> dict:
    """An OpenAPI response: `json_schema` in JSON (.json), the same under <root> in XML (.xml)."""
    xml = f"<{root}>" + (f" with one <{item}> per entry" if item else "")
    answer = {"content": {FORMATS["json"]: {"schema": json_schema},
                          FORMATS["xml"]: {"schema": {"type": "string", "description": f"the same as XML: {xml}"}}}}
    if description:
        answer["description"] = description
    return answer


def _list_of(schema) -> dict:
    return {"type": "array", "items": schema}


ERRORS = _answers(_list_of(schemas.Open311Error), "errors", "error", description=(
    "Any error, in GeoReport v2's format: code repeats the HTTP status (a field the request cannot make a "
    "report with is 400); 404 for an unknown service or request, 429 over the public's limit, 503 while "
    "a service is unavailable"))
_REQUEST_FIELDS = {"required": True, "content": {
    media: {"schema": schemas.Open311RequestCreate}
    for media in ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")}}


@open311_blueprint.get(f"/discovery.{FMT}")
@doc(response=_answers(schemas.Open311Discovery, "discovery"), errors=ERRORS, tags=[TAG])
@public
def get_discovery(fmt):
    """Where this endpoint is and what it speaks (GeoReport v2 service discovery)."""
    _as_public()
    base = request.url_root.rstrip("/") + PREFIX
    data = discovery(base, runtime().settings.production)
    return _answer(data, fmt, "discovery", None)


@open311_blueprint.get(f"/services.{FMT}")
@doc(response=_answers(_list_of(schemas.Open311Service), "services", "service"), errors=ERRORS, tags=[TAG])
@public
def get_services(fmt):
    """The district's categories the public may report, as services."""
    _as_public()
    return _answer(_offered_services(), fmt, "services", "service")


@open311_blueprint.get(f"/services/<code>.{FMT}")
@doc(response=_answers(schemas.Open311ServiceDefinition, "service_definition"), errors=ERRORS, tags=[TAG])
@public
def get_service(code, fmt):
    """A service's definition: no attributes beyond the standard fields."""
    _as_public()
    if code not in {s["service_code"] for s in _offered_services()}:
        raise Open311Error(404, f"no service {code}")
    return _answer(service_definition(code), fmt, "service_definition", None)


@open311_blueprint.post(f"/requests.{FMT}")
@doc(body=_REQUEST_FIELDS, response=_answers(_list_of(schemas.Open311RequestCreated), "service_requests", "request"),
     status=201, errors=ERRORS, tags=[TAG])
@public
def post_request(fmt):
    """Report a problem: filed as an anonymous public report, answered with its id (the tracking code).

    service_code and description are required, and where it is: lat and long, or an address_string.
    Query parameters count as fields too. A name and a valid phone together make the report a named one.
    """
    _as_public()
    fields = _incoming_fields()
    services = _offered_services(quick=True)
    body, notes = report_from_open311(fields, {s["service_code"] for s in services} if services else None,
                                      has_media=not request.is_json and bool(request.files))
    status, answer = proxy.call_upstream("incidents", "POST", "/api/v1/incidents/reports", proxy.ANONYMOUS, body=body)
    if status != 201:
        raise errors_from_upstream(status, answer)
    created = [{"service_request_id": answer["tracking_code"], "service_notice": service_notice(answer, notes),
                "account_id": None}]
    return _answer(created, fmt, "service_requests", "request", 201)


@open311_blueprint.get(f"/requests.{FMT}")
@doc(query=schemas.Open311RequestQuery, response=_answers(_list_of(schemas.Open311Request), "service_requests",
                                                          "request"), errors=ERRORS, tags=[TAG])
@public
def get_requests(fmt):
    """Several requests by their ids; ids not found are left out.

    There is no list of all requests: reports are private to their reporters.
    """
    _as_public()
    ids = requested_ids(request.args.get("service_request_id"))
    found = [item for item in (_track(i) for i in ids) if item is not None]
    return _answer(filter_requests(found, request.args), fmt, "service_requests", "request")


@open311_blueprint.get(f"/requests/<request_id>.{FMT}")
@doc(response=_answers(_list_of(schemas.Open311Request), "service_requests", "request"), errors=ERRORS, tags=[TAG])
@public
def get_request(request_id, fmt):
    """One request by its id (the tracking code), as a list of one (the spec's shape)."""
    _as_public()
    found = _track(request_id)
    if found is None:
        raise Open311Error(404, f"no request {request_id}")
    return _answer([found], fmt, "service_requests", "request")


_KNOWN = re.compile(r"^(discovery|services|services/[^/]+|requests|requests/[^/]+)\.(\w+)$")


@open311_blueprint.route("/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@public
def elsewhere(rest):
    """Anything else under /open311/v2 answers in Open311's error format, not the services' shape."""
    known = _KNOWN.match(rest)
    if known and known.group(2) not in FORMATS:
        raise Open311Error(404, f"format .{known.group(2)} is not offered: use .json or .xml")
    if known:
        allowed = "GET, HEAD, POST" if known.group(1) == "requests" else "GET, HEAD"
        raise Open311Error(405, f"{request.method} is not allowed here ({allowed})", headers={"Allow": allowed})
    raise Open311Error(404, f"no Open311 resource {PREFIX}/{rest}; see {PREFIX}/discovery.json")
