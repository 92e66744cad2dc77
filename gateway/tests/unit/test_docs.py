"""The merged OpenAPI document and the documentation page of the gateway."""
import dataclasses
import importlib
import json

import pytest
from openapi_spec_validator import validate as validate_spec

from gateway import docs, proxy
from gateway.bootstrap import SPEC
from servicekit.config import load_settings
from servicekit.errors import ApiError
from servicekit.web import create_app

ERROR = {"type": "object", "properties": {"request_id": {"type": "string", "nullable": True}}}
ERROR_RESPONSES = {"Unauthenticated": {"description": "no signed identity", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
IDENTITY_SCHEME = {"gatewayIdentity": {"type": "apiKey", "in": "header", "name": "X-EnvGrid-Identity"}}


def _op(operation_id, roles=None, public=False, **more):
    op = {"operationId": operation_id, "security": [] if public else [{"gatewayIdentity": []}],
          "responses": {"200": {"description": "OK"},
                        "401": {"$ref": "#/components/responses/Unauthenticated"}}, **more}
    if roles is not None:
        op["x-roles"] = roles
    return op


def _probe():
    return {"post": _op("ops_probe.send_probe", ["admin", "district_ops"], tags=["ops"])}


def registry_document():
    return {
        "openapi": "3.0.3", "info": {"title": "EnvGrid grid-registry", "version": "0.1.0"},
        "paths": {
            "/api/v1/registry/grids": {"get": _op("registry.search_grids", ["admin", "public"], tags=["grids"])},
            "/api/v1/registry/areas": {"post": _op("registry.create_area", ["admin"], tags=["grids"], requestBody={
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Area"}}}})},
            "/ops/probes": _probe(),
            "/sample/elsewhere": {"get": _op("registry.hidden", ["admin"])},
        },
        "components": {
            "schemas": {"Error": ERROR,
                        "Point": {"type": "object", "properties": {"lon": {"type": "number"}}},
                        "Area": {"type": "object", "properties": {"centre": {"$ref": "#/components/schemas/Point"}}},
                        "Same": {"type": "string"}},
            "responses": ERROR_RESPONSES, "securitySchemes": IDENTITY_SCHEME},
        "tags": [{"name": "grids"}, {"name": "ops"}],
    }


def incidents_document():
    return {
        "openapi": "3.0.3", "info": {"title": "EnvGrid incidents", "version": "0.2.0"},
        "paths": {
            "/api/v1/incidents/reports": {"post": _op("incidents.file_report", ["public", "admin"], tags=["reports"],
                                                      requestBody={"content": {"application/json": {"schema": {
                                                          "$ref": "#/components/schemas/Report"}}}})},
            "/api/v1/incidents/track/{code}": {"get": _op("incidents.track", public=True, parameters=[
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}])},
            "/ops/probes": _probe(),
        },
        "components": {
            "schemas": {"Error": ERROR,
                        "Point": {"type": "object", "properties": {"lat": {"type": "number"}}},  # not the registry's
                        # Word for word the registry's Area, but its Point is another: so it is another Area.
                        "Area": {"type": "object", "properties": {"centre": {"$ref": "#/components/schemas/Point"}}},
                        "Report": {"type": "object", "properties": {"where": {"$ref": "#/components/schemas/Area"}}},
                        "Same": {"type": "string"}},
            "responses": ERROR_RESPONSES, "securitySchemes": IDENTITY_SCHEME},
        "tags": [{"name": "ops"}, {"name": "reports"}],
    }


def test_paths_are_the_gateways_and_services_that_did_not_answer_are_listed():
    merged = docs.merge({"grid-registry": registry_document(), "incidents": incidents_document(), "dispatch": None})
    validate_spec(merged)
    assert set(merged["paths"]) == {"/api/v1/registry/grids", "/api/v1/registry/areas", "/api/v1/incidents/reports",
                                    "/api/v1/incidents/track/{code}", "/ops/grid-registry/probes",
                                    "/ops/incidents/probes"}  # /sample/elsewhere: the gateway does not route it
    assert merged["x-unavailable"] == ["dispatch"]
    assert merged["x-services"] == {"grid-registry": "0.1.0", "incidents": "0.2.0"}
    ids = [op["operationId"] for item in merged["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert merged["paths"]["/ops/incidents/probes"]["post"]["operationId"] == "incidents.ops_probe.send_probe"
    assert [t["name"] for t in merged["tags"]] == ["grids", "ops", "reports"]


def test_components_defined_differently_get_the_services_name_and_the_same_ones_are_shared():
    merged = docs.merge({"grid-registry": registry_document(), "incidents": incidents_document()})
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Error", "Same", "grid-registry.Point", "incidents.Point", "grid-registry.Area",
                            "incidents.Area", "Report"}
    assert schemas["grid-registry.Area"]["properties"]["centre"] == {"$ref": "#/components/schemas/grid-registry.Point"}
    assert schemas["incidents.Area"]["properties"]["centre"] == {"$ref": "#/components/schemas/incidents.Point"}
    assert schemas["Report"]["properties"]["where"] == {"$ref": "#/components/schemas/incidents.Area"}
    body = merged["paths"]["/api/v1/registry/areas"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/grid-registry.Area"}
    # Every reference points at something that exists.
    refs = [part for part in json.dumps(merged).split('"') if part.startswith("#/components/")]
    for ref in refs:
        _, _, section, name = ref.split("/")
        assert name in merged["components"][section], ref


def test_the_security_is_the_gateways_credentials():
    merged = docs.merge({"grid-registry": registry_document(), "incidents": incidents_document()})
    assert set(merged["components"]["securitySchemes"]) == {"apiKey", "bearerToken"}
    paths = merged["paths"]
    credentials = [{"apiKey": []}, {"bearerToken": []}]
    assert paths["/api/v1/registry/areas"]["post"]["security"] == credentials
    assert paths["/api/v1/registry/grids"]["get"]["security"] == credentials + [{}]  # open to the public
    assert paths["/api/v1/incidents/track/{code}"]["get"]["security"] == []
    assert "gatewayIdentity" not in json.dumps(merged)


def test_merging_leaves_the_services_documents_alone():
    registry = registry_document()
    docs.merge({"grid-registry": registry, "incidents": incidents_document()})
    assert registry == registry_document()


def test_nothing_answered_is_still_a_valid_document():
    merged = docs.merge({"grid-registry": None, "incidents": None})
    validate_spec(merged)
    assert merged["paths"] == {} and merged["x-unavailable"] == ["grid-registry", "incidents"]


def test_the_real_services_documents_merge_into_one_valid_document(tmp_path):
    documents = {}
    for service, package in {"grid-registry": "grid_registry", "incidents": "incidents",
                             "dispatch": "dispatch", "assessment": "assessment", "rewards": "rewards"}.items():
        pytest.importorskip(package)
        app = importlib.import_module(f"{package}.app").create_app(
            load_settings(service, {"ENVGRID_DATA_DIR": str(tmp_path)}))
        documents[service] = app.test_client().get("/openapi.json").get_json()
    merged = docs.merge(documents)
    validate_spec(merged)
    assert merged["x-unavailable"] == []
    for service, document in documents.items():
        routed = [p for p in document["paths"] if p.startswith("/api/v1/")]
        assert routed and all(p in merged["paths"] for p in routed) or service in ("assessment", "rewards")
        assert f"/ops/{service}/probes" in merged["paths"]


# -- the routes ------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_REDIS_URL", raising=False)
    # Not named "gateway": from the repository root that is also the folder gateway/ (see test_open311).
    spec = dataclasses.replace(SPEC, name="gateway-docs")  # the docs blueprint is part of the gateway
    return create_app(spec, load_settings("gateway", {"ENVGRID_DATA_DIR": str(tmp_path)})).test_client()


@pytest.fixture
def upstream(monkeypatch):
    calls = []
    answers = {"grid-registry": registry_document(), "incidents": incidents_document()}

    def fake(service, method, path, who, **kwargs):
        calls.append((service, method, path, who.subject))
        if service not in answers:
            raise ApiError(503, f"{service} is unavailable", code="upstream_unavailable")
        return 200, answers[service]
    monkeypatch.setattr(proxy, "call_upstream", fake)
    return calls


def test_the_gateway_serves_the_merged_document_and_keeps_it_a_while(client, upstream):
    first = client.get("/openapi.json")  # no credentials needed
    assert first.status_code == 200 and first.mimetype == "application/json"
    document = first.get_json()
    assert document["info"]["title"] == "EnvGrid API"
    assert document["x-unavailable"] == ["assessment", "dispatch", "rewards"]
    assert "/ops/incidents/probes" in document["paths"]
    assert {(s, m, p, who) for s, m, p, who in upstream} >= {("incidents", "GET", "/openapi.json", "gateway-docs")}
    asked = len(upstream)
    assert client.get("/openapi.json").data == first.data and len(upstream) == asked


def test_the_page_and_its_files_come_from_the_gateway_itself(client, upstream):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "/docs/static/swagger-ui-bundle.js" in text and "/docs/init.js" in text and "http" not in text
    init = client.get("/docs/init.js").get_data(as_text=True)
    assert '"/openapi.json"' in init and "validatorUrl: null" in init
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        answer = client.get(f"/docs/static/{name}")
        assert answer.status_code == 200 and len(answer.data) > 100, name
    assert client.get("/docs/static/../../../etc/passwd").status_code == 404
