"""Each service's OpenAPI document: built from its routes, valid, and true to what the routes parse."""
import importlib
import inspect
import re
from pathlib import Path

import pytest
from flask import Blueprint
from marshmallow import Schema, fields, validate
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from servicekit import identity as ident
from servicekit import openapi
from servicekit.config import load_settings
from servicekit.openapi import doc, openapi_path
from servicekit.spec import ServiceSpec
from servicekit.web import create_app, public, require_roles

IGNORED = {"HEAD", "OPTIONS"}


@pytest.fixture
def sample_app(sample_settings):
    from sampleservice.bootstrap import SPEC
    return create_app(SPEC, sample_settings)


def document_of(app):
    response = app.test_client().get("/openapi.json")  # no identity: the document is public
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def resolve(document, ref):
    section, name = ref.split("/")[-2:]
    return document["components"][section][name]


# -- the sample service ------------------------------------------------------------
def test_the_sample_service_documents_its_job_route_with_its_body(sample_app):
    document = document_of(sample_app)
    validate_spec(document)
    assert document["openapi"] == "3.0.3" and document["info"]["title"] == "EnvGrid sample"
    operation = document["paths"]["/sample/jobs"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobRequest"}
    assert "201" in operation["responses"] and operation["tags"] == ["sample"]
    assert operation["security"] == [{"gatewayIdentity": []}] and operation["x-roles"] == ["admin"]
    assert {"400", "401", "403", "422"} <= set(operation["responses"])
    job = document["components"]["schemas"]["JobRequest"]
    # The schema refuses unknown fields (marshmallow's RAISE), and the document says so.
    assert job["additionalProperties"] is False
    assert set(job["required"]) == {"job_id", "note"}
    assert job["properties"]["sleep_ms"] == {"type": "integer", "default": 0, "minimum": 0, "maximum": 60000}
    scheme = document["components"]["securitySchemes"]["gatewayIdentity"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header" and scheme["name"] == ident.IDENTITY_HEADER


def test_the_kit_routes_are_documented_and_the_app_routes_are_not(sample_app):
    document = document_of(sample_app)
    assert set(document["paths"]["/ops/probes"]) == {"post"}
    probe = document["paths"]["/ops/probes/{probe_id}"]["get"]
    assert probe["parameters"] == [{"name": "probe_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "format": "uuid"}}]
    assert not {"/healthz", "/readyz", "/metrics", "/openapi.json"} & set(document["paths"])


def test_an_error_answer_matches_the_documented_error_schema(sample_app, sample_settings):
    document = document_of(sample_app)
    headers = ident.sign(ident.Identity("tester", frozenset({"admin"})), sample_settings.identity_secret)
    client = sample_app.test_client()
    answers = [client.post("/sample/jobs", json={"job_id": "j1", "note": "x", "colour": "red"}, headers=headers),
               client.post("/sample/jobs", json={"job_id": "j1", "note": "x"}),  # no identity: 401
               client.get("/sample/nothing-here", headers=headers)]
    assert [a.status_code for a in answers] == [422, 401, 404]
    schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    for answer in answers:
        OAS30Validator(schema).validate(answer.get_json())
    with pytest.raises(Exception):
        OAS30Validator(schema).validate({"error": "flat string", "request_id": None})


def test_the_document_is_built_once_per_process(sample_app, monkeypatch):
    calls = []
    real = openapi.build_document
    monkeypatch.setattr(openapi, "build_document", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = sample_app.test_client().get("/openapi.json").data
    assert sample_app.test_client().get("/openapi.json").data == first
    assert len(calls) == 1


# -- the decorator and the reading of views -------------------------------------------
class Body(Schema):
    name = fields.String(required=True, validate=validate.Length(max=10))


class Query(Schema):
    q = fields.String(required=True)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class Answer(Schema):
    id = fields.Integer(required=True)


def _app_with(blueprint, tmp_path):
    spec = ServiceSpec(name="probe-less", migrations=Path(tmp_path), blueprints=(blueprint,), uses_broker=False)
    return create_app(spec, load_settings("probe-less", {"ENVGRID_DATA_DIR": str(tmp_path)}))


def test_doc_works_above_and_below_require_roles_and_public(tmp_path):
    bp = Blueprint("things", __name__, url_prefix="/api/v1/things")

    @bp.post("/above")
    @doc(body=Body, response=Answer, status=201, tags=["things"])
    @require_roles("admin")
    def above():
        """Make a thing.

        With more words.
        """

    @bp.post("/below")
    @require_roles("grid_staff", "admin")
    @doc(body=Body(), query=Query, tags="things")
    def below():
        """Make a thing the other way."""

    @bp.get("/open/<int:number>/<any(a, b):letter>/<path:rest>")
    @doc(query={"all": fields.String(validate=validate.OneOf(["1"]))})
    @public
    def open_route(number, letter, rest):
        pass

    @bp.get("/anyone")
    @require_roles(*ident.ROLES)
    def anyone():
        pass

    document = document_of(_app_with(bp, tmp_path))
    validate_spec(document)
    paths = document["paths"]
    op = paths["/api/v1/things/above"]["post"]
    assert op["summary"] == "Make a thing" and op["description"].startswith("With more words.")
    assert op["x-roles"] == ["admin"] and op["tags"] == ["things"]
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Answer"}
    op = paths["/api/v1/things/below"]["post"]
    assert op["x-roles"] == ["admin", "grid_staff"] and op["tags"] == ["things"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Body"}
    query = {p["name"]: p for p in op["parameters"]}
    assert query["q"]["in"] == "query" and query["q"]["required"] is True
    assert query["limit"]["schema"] == {"type": "integer", "default": 50, "minimum": 1, "maximum": 500}
    op = paths["/api/v1/things/open/{number}/{letter}/{rest}"]["get"]
    assert op["security"] == [] and "401" not in op["responses"] and "x-roles" not in op
    params = {p["name"]: p["schema"] for p in op["parameters"]}
    assert params["number"] == {"type": "integer"} and params["letter"]["enum"] == ["a", "b"]
    assert params["all"] == {"type": "string", "enum": ["1"]}
    op = paths["/api/v1/things/anyone"]["get"]
    assert "403" not in op["responses"] and "the anonymous public included" in op["description"]
    assert op["summary"] == "Anyone" and op["tags"] == ["things"]  # no docstring, no @doc: from the names


def test_a_view_with_errors_of_its_own_shape_documents_them_in_place_of_the_kits(tmp_path):
    bp = Blueprint("own", __name__, url_prefix="/api/v1/own")
    own_errors = {"description": "errors as a list", "content": {"application/json": {
        "schema": {"type": "array", "items": Answer}}}}

    @bp.post("/things/<code>")
    @doc(body=Body, status=201, errors=own_errors)
    @public
    def make(code):
        pass

    document = document_of(_app_with(bp, tmp_path))
    validate_spec(document)
    responses = document["paths"]["/api/v1/own/things/{code}"]["post"]["responses"]
    assert set(responses) == {"201", "4XX", "5XX"}
    assert responses["4XX"] == responses["5XX"] == {"description": "errors as a list", "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Answer"}}}}}


def test_some_rules_only_make_a_document_of_their_own(tmp_path):
    bp = Blueprint("some", __name__, url_prefix="/api/v1/some")

    @bp.get("/kept")
    @public
    def kept():
        pass

    @bp.get("/left-out")
    @public
    def left_out():
        pass

    app = _app_with(bp, tmp_path)
    rules = [r for r in openapi.documented_rules(app) if r.endpoint == "some.kept"]
    document = openapi.build_document(app, title="some", version="1", rules=rules)
    validate_spec(document)
    assert set(document["paths"]) == {"/api/v1/some/kept"}


def test_doc_refuses_what_it_cannot_document():
    with pytest.raises(TypeError):
        doc(body="Body")
    with pytest.raises(TypeError):
        doc(query={"q": "a string"})
    with pytest.raises(TypeError):
        doc(errors=Answer)


@pytest.mark.parametrize("rule,path,names", [
    ("/a/<code>", "/a/{code}", ["code"]),
    ("/a/<int:n>/b/<uuid:u>", "/a/{n}/b/{u}", ["n", "u"]),
    ("/a/<int(min=1):n>", "/a/{n}", ["n"]),
])
def test_flask_rules_become_openapi_paths(rule, path, names):
    converted, params = openapi_path(rule)
    assert converted == path and [p["name"] for p in params] == names


# -- the real services -----------------------------------------------------------------
SERVICES = {"grid-registry": "grid_registry", "incidents": "incidents", "dispatch": "dispatch",
            "assessment": "assessment", "rewards": "rewards"}


def _innermost(view):
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_of_a_service_is_documented_as_it_parses(service, tmp_path):
    package = pytest.importorskip(SERVICES[service])
    app = importlib.import_module(f"{package.__name__}.app").create_app(
        load_settings(service, {"ENVGRID_DATA_DIR": str(tmp_path)}))
    document = document_of(app)
    validate_spec(document)
    assert document["info"]["title"] == f"EnvGrid {service}" and document["info"]["version"] != "0.0.0"

    expected = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/ops/")):
            expected.setdefault(openapi_path(rule.rule)[0], set()).update(
                m.lower() for m in rule.methods - IGNORED)
    assert {path: set(ops) for path, ops in document["paths"].items()} == expected

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        source = inspect.getsource(_innermost(app.view_functions[rule.endpoint]))
        for method in rule.methods - IGNORED:
            op = document["paths"][openapi_path(rule.rule)[0]][method.lower()]
            where = f"{method} {rule.rule}"
            assert op["tags"] and op["tags"][0].startswith(rule.rule.split("/")[3]), where
            body = re.search(r"json_body\(schemas\.(\w+)\(", source)
            if body:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert ref == f"#/components/schemas/{body[1]}", where
                assert resolve(document, ref)["additionalProperties"] is False, where
            query = re.search(r"query_args\(schemas\.(\w+)\(", source)
            if query:
                schema = getattr(importlib.import_module(f"{package.__name__}.schemas"), query[1])
                documented = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                assert documented == set(schema().fields), where
            status = re.search(r"status=(\d{3})\)", source)
            if status and "dry_run" not in source:
                assert status[1] in op["responses"], where


def test_every_request_body_schema_is_a_component(tmp_path):
    pytest.importorskip("incidents")
    from incidents.app import create_app as incidents_app
    document = document_of(incidents_app(load_settings("incidents", {"ENVGRID_DATA_DIR": str(tmp_path)})))
    schemas = document["components"]["schemas"]
    for name in ("ReportCreate", "CityInstructionCreate", "PatrolCreate", "AttachEvidence",
                 "Point", "Reporter", "ProblemFound", "Error"):
        assert name in schemas, name
    # A nested schema is a component of its own, referred to (here nullable: anyOf the ref or null).
    assert {"$ref": "#/components/schemas/Point"} in schemas["ReportCreate"]["properties"]["location"]["anyOf"]
    upload = document["paths"]["/api/v1/incidents/evidence"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
