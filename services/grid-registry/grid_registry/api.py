"""HTTP routes of the grid registry, under /api/v1/registry. Parse, authorise, call a use case."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template, request
from marshmallow import fields, validate

from servicekit.errors import ApiError
from servicekit.exports import table_response
from servicekit.identity import ROLES
from servicekit.openapi import doc
from servicekit.web import current_identity, json_body, query_args, request_session, require_roles, write

from . import catalogue, grids, ledger, levels, notice, people, schemas
from .locating import locate_many, locate_one

bp = Blueprint("registry", __name__, url_prefix="/api/v1/registry", template_folder="templates")

ANYONE = tuple(sorted(ROLES))  # every caller the gateway vouches for, the anonymous public included
OFFICE = ("district_ops", "admin")
LEDGER_KEEPERS = ("grid_staff", "district_ops", "admin")

# For the OpenAPI document only (servicekit.openapi.doc): flags read from request.args, non-JSON bodies.
_FLAG = fields.String(validate=validate.OneOf(["1"]), metadata={"description": "1 to switch on"})
_GEOJSON_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "a GeoJSON FeatureCollection of the whole district; every problem is listed"}}}}
_CSV_BODY = {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "description": "UTF-8 CSV of people and their roles"}}}}
_GEOJSON_ANSWER = {"content": {"application/geo+json": {"schema": {"type": "object"}}}}
_TABLE_ANSWER = {"description": "the table (format=csv or xlsx)", "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}}}}
_CSV_ANSWER = {"content": {"text/csv": {"schema": {"type": "string"}}}}
_HTML_ANSWER = {"content": {"text/html": {"schema": {"type": "string"}}}}


def _actor() -> str:
    return current_identity().subject


# -- the grid tree ---------------------------------------------------------
@bp.get("/grids")
@doc(query=schemas.GridSearch, tags=["registry: grids"])
@require_roles(*ANYONE)
def search_grids():
    return jsonify(grids.search(request_session(), query_args(schemas.GridSearch())))


@bp.get("/grids/<code>")
@doc(query={"boundary": _FLAG}, tags=["registry: grids"])
@require_roles(*ANYONE)
def show_grid(code):
    return jsonify(grids.detail(request_session(), code, with_boundary=request.args.get("boundary") == "1"))


@bp.get("/grids/<code>/subtree")
@doc(query={"include_retired": _FLAG}, tags=["registry: grids"])
@require_roles(*ANYONE)
def grid_subtree(code):
    include_retired = request.args.get("include_retired") == "1"
    return jsonify(code=code, codes=grids.subtree(request_session(), code, include_retired))


@bp.post("/grids")
@doc(body=schemas.GridCreate, status=201, tags=["registry: grids"])
@require_roles(*OFFICE)
def create_grid():
    return write(grids.create, json_body(schemas.GridCreate()), _actor(), status=201)


@bp.patch("/grids/<code>")
@doc(body=schemas.GridPatch, tags=["registry: grids"])
@require_roles(*OFFICE)
def change_grid(code):
    return write(grids.change, code, json_body(schemas.GridPatch()), _actor())


@bp.post("/reorganisations")
@doc(body=schemas.Reorganisation, status=201, tags=["registry: grids"])
@require_roles(*OFFICE)
def reorganise():
    return write(grids.reorganise, json_body(schemas.Reorganisation()), _actor(), status=201)


@bp.get("/snapshot")
@doc(query=schemas.SnapshotQuery, tags=["registry: grids"])
@require_roles(*OFFICE)
def snapshot():
    args = query_args(schemas.SnapshotQuery())
    return jsonify(grids.snapshot(request_session(), args["after"], args["limit"]))


# -- locating --------------------------------------------------------------
_POINT = schemas.LocatePoint()  # schemas hold no request state: build once, not per lookup


@bp.get("/locate")
@doc(query=schemas.LocatePoint, tags=["registry: locate"])
@require_roles(*ANYONE)
def locate():
    point = query_args(_POINT)
    return jsonify(locate_one(request_session(), point["lon"], point["lat"], point["datum"]))


@bp.post("/locate")
@doc(body=schemas.LocateBatch, tags=["registry: locate"])
@require_roles(*ANYONE)
def locate_batch():
    points = json_body(schemas.LocateBatch())["points"]
    return jsonify(results=locate_many(request_session(), points))


# -- import and export -----------------------------------------------------
@bp.post("/imports/grids")
@doc(body=_GEOJSON_BODY, query={"dry_run": _FLAG}, status=201, tags=["registry: import and export"])
@require_roles(*OFFICE)
def import_grids():
    if not request.is_json:
        raise ApiError(400, "the body must be a GeoJSON FeatureCollection (Content-Type: application/json)")
    collection = request.get_json(silent=True)
    if not isinstance(collection, dict):
        raise ApiError(400, "the body is not a JSON object", code="malformed_json")
    dry_run = request.args.get("dry_run") == "1"
    return write(grids.import_collection, collection, _actor(), dry_run, status=200 if dry_run else 201)


@bp.get("/exports/grids.geojson")
@doc(query=schemas.GeoExportQuery, response=_GEOJSON_ANSWER, tags=["registry: import and export"])
@require_roles(*OFFICE)
def export_grids():
    args = query_args(schemas.GeoExportQuery())
    body = json.dumps(grids.export_collection(request_session(), args["root"], args["level"]),
                      ensure_ascii=False)
    return Response(body, mimetype="application/geo+json")


@bp.get("/reports/coverage")
@doc(tags=["registry: reports"])
@require_roles(*OFFICE)
def coverage():
    problems = grids.coverage_report(request_session())
    return jsonify(complete=not problems, problems=problems)


@bp.get("/reports/without-leader")
@doc(tags=["registry: reports"])
@require_roles(*OFFICE)
def without_leader():
    return jsonify(grids=people.grids_without_leader(request_session()))


# -- people and roles ------------------------------------------------------
@bp.post("/people")
@doc(body=schemas.PersonCreate, status=201, tags=["registry: people"])
@require_roles(*OFFICE)
def create_person():
    return write(people.create_person, json_body(schemas.PersonCreate()), status=201)


@bp.get("/people/<person_id>")
@doc(tags=["registry: people"])
@require_roles(*OFFICE)
def show_person(person_id):
    session = request_session()
    person = people.person_view(people.get_person(session, person_id))
    roles = [people.membership_view(m) for m in people.active_memberships(session, person_id=person_id)]
    return jsonify(person | {"roles": roles})


@bp.patch("/people/<person_id>")
@doc(body=schemas.PersonPatch, tags=["registry: people"])
@require_roles(*OFFICE)
def change_person(person_id):
    return write(people.update_person, person_id, json_body(schemas.PersonPatch()))


@bp.post("/grids/<code>/members")
@doc(body=schemas.MembershipCreate, status=201, tags=["registry: people"])
@require_roles(*OFFICE)
def assign_member(code):
    body = json_body(schemas.MembershipCreate())
    return write(people.assign, code, body["person_id"], body["role"], status=201)


@bp.delete("/grids/<code>/members/<int:membership_id>")
@doc(status=204, tags=["registry: people"])
@require_roles(*OFFICE)
def remove_member(code, membership_id):
    session = request_session()
    with session.begin():
        people.remove(session, code, membership_id)
    return "", 204


@bp.post("/imports/people")
@doc(body=_CSV_BODY, status=201, tags=["registry: import and export"])
@require_roles(*OFFICE)
def import_people():
    try:
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the CSV must be UTF-8") from None
    return write(people.import_csv, text, status=201)


@bp.get("/exports/people.csv")
@doc(response=_CSV_ANSWER, tags=["registry: import and export"])
@require_roles(*OFFICE)
def export_people():
    return table_response("csv", "网格人员", people.CSV_HEADERS_ZH, people.export_rows(request_session()))


# -- reference data --------------------------------------------------------
@bp.get("/departments")
@doc(tags=["registry: catalogue"])
@require_roles(*ANYONE)
def list_departments():
    return jsonify(items=catalogue.list_departments(request_session()))


@bp.post("/departments")
@doc(body=schemas.Department, status=201, tags=["registry: catalogue"])
@require_roles(*OFFICE)
def create_department():
    return write(catalogue.create_department, json_body(schemas.Department()), status=201)


@bp.patch("/departments/<code>")
@doc(body=schemas.DepartmentPatch, tags=["registry: catalogue"])
@require_roles(*OFFICE)
def change_department(code):
    return write(catalogue.update_department, code, json_body(schemas.DepartmentPatch()))


@bp.get("/categories")
@doc(query={"all": _FLAG}, tags=["registry: catalogue"])
@require_roles(*ANYONE)
def list_categories():
    return jsonify(items=catalogue.list_categories(request_session(), request.args.get("all") == "1"))


@bp.get("/categories/<code>")
@doc(tags=["registry: catalogue"])
@require_roles(*ANYONE)
def show_category(code):
    return jsonify(catalogue.get_category(request_session(), code))


@bp.post("/categories")
@doc(body=schemas.Category, status=201, tags=["registry: catalogue"])
@require_roles(*OFFICE)
def create_category():
    return write(catalogue.create_category, json_body(schemas.Category()), status=201)


@bp.patch("/categories/<code>")
@doc(body=schemas.CategoryPatch, tags=["registry: catalogue"])
@require_roles(*OFFICE)
def change_category(code):
    return write(catalogue.update_category, code, json_body(schemas.CategoryPatch()))


def _level(level: int) -> int:
    if level not in levels.LEVEL_NAMES:
        raise ApiError(404, f"no level {level}")
    return level


@bp.get("/responsibilities/<int:level>")
@doc(tags=["registry: catalogue"])
@require_roles(*ANYONE)
def show_duties(level):
    return jsonify(level=level, duties=catalogue.duties(request_session(), _level(level)))


@bp.put("/responsibilities/<int:level>")
@doc(body=schemas.Responsibilities, tags=["registry: catalogue"])
@require_roles(*OFFICE)
def replace_duties(level):
    texts = json_body(schemas.Responsibilities())["duties"]
    session = request_session()
    with session.begin():
        result = catalogue.replace_duties(session, _level(level), texts)
    return jsonify(level=level, duties=result)


# -- notice boards ---------------------------------------------------------
@bp.get("/grids/<code>/notice-board")
@doc(tags=["registry: notice boards"])
@require_roles(*ANYONE)
def notice_board(code):
    return jsonify(notice.board(request_session(), code))


@bp.get("/grids/<code>/notice-board.html")
@doc(response=_HTML_ANSWER, tags=["registry: notice boards"])
@require_roles(*ANYONE)
def notice_board_page(code):
    board = notice.board(request_session(), code)
    return render_template("notice_board.html", b=board, qr=notice.qr_svg(board["report_url"]))


# -- the pollution-source ledger -------------------------------------------
@bp.get("/sources")
@doc(query=schemas.SourceSearch, tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def search_sources():
    return jsonify(ledger.search(request_session(), query_args(schemas.SourceSearch()), current_identity()))


@bp.post("/sources")
@doc(body=schemas.SourceCreate, status=201, tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def register_source():
    return write(ledger.register, json_body(schemas.SourceCreate()), current_identity(), status=201)


@bp.get("/sources/<source_id>")
@doc(tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def show_source(source_id):
    return jsonify(ledger.view(ledger.get(request_session(), source_id, current_identity())))


@bp.patch("/sources/<source_id>")
@doc(body=schemas.SourcePatch, tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def change_source(source_id):
    return write(ledger.change, source_id, json_body(schemas.SourcePatch()), current_identity())


@bp.get("/sources/<source_id>/history")
@doc(tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def source_history(source_id):
    return jsonify(items=ledger.history(request_session(), source_id, current_identity()))


@bp.get("/exports/sources")
@doc(query=schemas.ExportQuery, response=_TABLE_ANSWER, tags=["registry: pollution sources"])
@require_roles(*LEDGER_KEEPERS)
def export_sources():
    args = query_args(schemas.ExportQuery())
    params = {"grid": args["grid"]}
    rows = ledger.export_rows(request_session(), params, current_identity())
    return table_response(args["format"], "污染源台账", ledger.EXPORT_HEADERS, rows, title="污染源台账")
