"""The merged OpenAPI document and the documentation page of the gateway."""
import dataclasses
import importlib
import json
import time

import jwt
import pytest
from openapi_spec_validator import validate as validate_spec

from gateway import credentials, docs, proxy
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


def gateway_document():
    """The gateway's own routes as own_document builds them: its roles as a service's, paths as they are."""
    return {
        "openapi": "3.0.3", "info": {"title": "EnvGrid gateway", "version": "0.3.0"},
        "paths": {
            "/auth/login": {"post": _op("auth.login", public=True, tags=["gateway: tokens"], requestBody={
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}})},
            "/admin/api-keys": {"get": _op("auth.list_keys", ["admin"], tags=["gateway: administration"])},
            "/open311/v2/requests.json": {"get": _op("open311.get_requests.json", public=True, tags=["open311"])},
        },
        "components": {
            "schemas": {"Error": ERROR, "Login": {"type": "object", "properties": {"username": {"type": "string"}}},
                        "Point": {"type": "object", "properties": {"x": {"type": "number"}}}},  # not the others'
            "responses": ERROR_RESPONSES, "securitySchemes": IDENTITY_SCHEME},
        "tags": [{"name": "gateway: administration"}, {"name": "gateway: tokens"}, {"name": "open311"}],
    }


def test_the_gateways_own_document_keeps_its_paths_and_gets_the_gateways_credentials():
    merged = docs.merge({"grid-registry": registry_document(), "incidents": incidents_document(),
                         docs.OWN: gateway_document()})
    validate_spec(merged)
    paths = merged["paths"]
    assert {"/auth/login", "/admin/api-keys", "/open311/v2/requests.json"} <= set(paths)
    assert "/api/v1/registry/grids" in paths and "/ops/incidents/probes" in paths  # the services' as before
    assert paths["/admin/api-keys"]["get"]["security"] == [{"apiKey": []}, {"bearerToken": []}]
    assert paths["/admin/api-keys"]["get"]["x-roles"] == ["admin"]
    assert paths["/auth/login"]["post"]["security"] == []
    assert paths["/open311/v2/requests.json"]["get"]["security"] == []
    assert paths["/auth/login"]["post"]["operationId"] == "gateway.auth.login"
    assert merged["x-services"]["gateway"] == "0.3.0" and merged["x-unavailable"] == []
    schemas = merged["components"]["schemas"]
    assert "Error" in schemas and "Login" in schemas and "gateway.Point" in schemas
    assert "gatewayIdentity" not in json.dumps(merged)


def test_merging_leaves_the_services_documents_alone():
    registry = registry_document()
    docs.merge({"grid-registry": registry, "incidents": incidents_document()})
    assert registry == registry_document()


def test_nothing_answered_is_still_a_valid_document():
    merged = docs.merge({"grid-registry": None, "incidents": None})
    validate_spec(merged)
    assert merged["paths"] == {} and merged["x-unavailable"] == ["grid-registry", "incidents"]


def _gateway_app(tmp_path):
    # Not named "gateway": from the repository root that is also the folder gateway/ (see test_open311).
    spec = dataclasses.replace(SPEC, name="gateway-docs")  # the docs blueprint is part of the gateway
    return create_app(spec, load_settings("gateway", {"ENVGRID_DATA_DIR": str(tmp_path)}))


def test_the_gateways_own_document_has_every_route_of_its_own_api_and_no_other(tmp_path):
    app = _gateway_app(tmp_path)
    with app.app_context():
        document = docs.own_document(app, "0.3.0")
    validate_spec(document)
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == {
        ("post", "/auth/login"), ("post", "/auth/refresh"), ("get", "/status"),
        ("get", "/admin/api-keys"), ("post", "/admin/api-keys"), ("delete", "/admin/api-keys/{key_id}"),
        ("post", "/admin/accounts"),
        *{("get", f"/open311/v2/{name}.{fmt}") for fmt in ("json", "xml")
          for name in ("discovery", "services", "services/{code}", "requests", "requests/{request_id}")},
        *{("post", f"/open311/v2/requests.{fmt}") for fmt in ("json", "xml")}}
    ops = {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}
    for (method, path), op in ops.items():
        assert op["summary"] and op["tags"], (method, path)
        if path.startswith("/admin/"):
            assert op["security"] == [{"gatewayIdentity": []}] and op["x-roles"] == ["admin"], path
            assert {"401", "403"} <= set(op["responses"]) and "Roles: admin." in op["description"], path
        else:
            assert op["security"] == [] and "x-roles" not in op, path
    login = ops[("post", "/auth/login")]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Login"}
    assert login["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Tokens"}
    created = ops[("post", "/admin/api-keys")]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/KeyCreated"}
    # Open311: one path per format, each answering its own media type, errors in GeoReport's shape.
    as_json, as_xml = ops[("get", "/open311/v2/requests.json")], ops[("get", "/open311/v2/requests.xml")]
    assert set(as_json["responses"]["200"]["content"]) == {"application/json"}
    assert set(as_xml["responses"]["200"]["content"]) == {"text/xml"}
    assert as_json["responses"]["4XX"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Open311Error"}
    assert {p["name"] for p in as_json["parameters"]} >= {"service_request_id", "status", "start_date"}
    assert as_json["operationId"] != as_xml["operationId"]
    filed = ops[("post", "/open311/v2/requests.json")]
    assert "201" in filed["responses"] and "application/x-www-form-urlencoded" in filed["requestBody"]["content"]


def test_the_admin_routes_refuse_whom_the_document_says_they_refuse(tmp_path):
    app = _gateway_app(tmp_path)
    with app.app_context():
        document = docs.own_document(app)
    token = jwt.encode({"iss": credentials.ISSUER, "sub": "ops.li", "roles": ["district_ops"], "iat": time.time(),
                        "exp": time.time() + 60, "typ": "access"}, credentials.DEV_JWT_SECRET, algorithm="HS256")
    client = app.test_client()
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            if "x-roles" not in op:
                continue
            url = path.replace("{key_id}", "0000")
            anonymous = client.open(url, method=method.upper(), json={})
            assert anonymous.status_code == 401, (method, path)
            assert "district_ops" not in op["x-roles"]
            other_role = client.open(url, method=method.upper(), json={},
                                     headers={"Authorization": f"Bearer {token}"})
            assert other_role.status_code == 403, (method, path)
            checked += 1
    assert checked == 4


def test_the_real_services_documents_merge_into_one_valid_document(tmp_path):
    documents = {}
    for service, package in {"grid-registry": "grid_registry", "incidents": "incidents",
                             "dispatch": "dispatch", "assessment": "assessment", "rewards": "rewards"}.items():
        pytest.importorskip(package)
        app = importlib.import_module(f"{package}.app").create_app(
            load_settings(service, {"ENVGRID_DATA_DIR": str(tmp_path)}))
        documents[service] = app.test_client().get("/openapi.json").get_json()
    gateway = _gateway_app(tmp_path / "gateway")
    with gateway.app_context():
        own = docs.own_document(gateway)
    merged = docs.merge({**documents, docs.OWN: own})
    validate_spec(merged)
    assert merged["x-unavailable"] == []
    for path, method in (("/auth/login", "post"), ("/admin/api-keys", "post"), ("/open311/v2/requests.json", "post"),
                         ("/status", "get")):
        assert merged["paths"][path][method]["operationId"].startswith("gateway."), path
    for service, document in documents.items():
        routed = [p for p in document["paths"] if p.startswith("/api/v1/")]
        assert routed and all(p in merged["paths"] for p in routed) or service in ("assessment", "rewards")
        assert f"/ops/{service}/probes" in merged["paths"]


# -- the routes ------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_REDIS_URL", raising=False)
    return _gateway_app(tmp_path).test_client()


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
    assert document["paths"]["/auth/login"]["post"]["security"] == []  # the gateway's own routes too
    assert document["paths"]["/admin/accounts"]["post"]["security"] == docs.CREDENTIALS
    assert not any(p.startswith(("/api/v1/{", "/ops/{", "/docs")) or p == "/openapi.json" for p in document["paths"])
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
