"""The whole public API in one OpenAPI document, and a page to read and try it.

GET /openapi.json: every service's own document (its GET /openapi.json, built by
servicekit.openapi from its routes and marshmallow schemas) merged into one, as a
client sees the API through the gateway: paths as the gateway routes them
(/ops/probes of incidents is /ops/incidents/probes here), the gateway's
credentials (an API key or a person's token) in place of the identity the gateway
signs for the services. The gateway's own routes (/auth, /admin, /open311/v2,
/status) are one more document, built the same way from its own views
(own_document). A service that does not answer is listed in `x-unavailable`
instead of failing the whole document. Built at most once a minute (every few
seconds while a service is missing).

GET /docs: Swagger UI, from the files the swagger-ui-bundle package ships (no
CDN: a district's network may be offline), with no call to an outside validator.
"""
from __future__ import annotations

import copy
import html
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, current_app, g, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from servicekit import identity as ident
from servicekit.openapi import (OPENAPI_VERSION, SECURITY_SCHEME, build_document, documented_rules, openapi_path,
                                package_version)
from servicekit.web import public, runtime

from . import open311, proxy
from .routing import ROUTES, SERVICES, Route

log = logging.getLogger(__name__)

DOCS_IDENTITY = ident.Identity("gateway-docs", frozenset({"public"}))
CACHE_S = 60.0
CACHE_INCOMPLETE_S = 5.0  # a service missing (e.g. still starting): ask again soon
FETCH_TIMEOUT_S = 5.0
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# How a client proves who it is at the gateway (proxy.authenticate).
GATEWAY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "A key issued by an administrator (`Authorization: ApiKey <key>` works too)."},
    "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A person's token from POST /auth/login (or the district's OIDC provider)."},
}
CREDENTIALS = [{"apiKey": []}, {"bearerToken": []}]
OWN = "gateway"  # the name of the gateway's own document among the services'

docs_blueprint = Blueprint("docs", __name__)
# Routes of the gateway that are not its own API: the catch-alls forwarding to the services (which
# document those routes themselves), Open311's answer to unknown paths, this document and its
# page, and the kit's probe routes.
UNDOCUMENTED_BLUEPRINTS = frozenset({proxy.proxy_blueprint.name, docs_blueprint.name, "ops_probe"})
UNDOCUMENTED_ENDPOINTS = frozenset({f"{open311.open311_blueprint.name}.{open311.elsewhere.__name__}"})


# -- merging (pure) ------------------------------------------------------------------
def _rewrite_refs(value, renames: dict[tuple[str, str], str]):
    """A copy of `value` whose "#/components/<section>/<name>" references follow `renames`."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/"):
                parts = item.split("/")
                if len(parts) == 4 and (parts[2], parts[3]) in renames:
                    item = f"#/components/{parts[2]}/{renames[(parts[2], parts[3])]}"
                out[key] = item
            else:
                out[key] = _rewrite_refs(item, renames)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def _component_renames(documents: dict[str, dict]) -> dict[str, dict[tuple[str, str], str]]:
    """Per service, the components to prefix with its name: those another service defines differently.

    Identical definitions (the kit's Error, say) stay shared under their own name. Renaming one
    component changes the references inside others, which may then differ too: repeat until stable.
    """
    renames: dict[str, dict[tuple[str, str], str]] = {service: {} for service in documents}
    while True:
        variants: dict[tuple[str, str], dict[str, list[str]]] = {}
        for service, document in documents.items():
            for section, items in (document.get("components") or {}).items():
                if section == "securitySchemes":  # replaced by the gateway's own (merge)
                    continue
                for name, value in items.items():
                    canonical = json.dumps(_rewrite_refs(value, renames[service]), sort_keys=True)
                    variants.setdefault((section, name), {}).setdefault(canonical, []).append(service)
        changed = False
        for key, by_definition in variants.items():
            if len(by_definition) < 2:
                continue
            for services in by_definition.values():
                for service in services:
                    if key not in renames[service]:
                        renames[service][key] = f"{service}.{key[1]}"
                        changed = True
        if not changed:
            return renames


def public_path(service: str, path: str, routes: tuple[Route, ...] = ROUTES) -> str | None:
    """Where the gateway exposes `path` of `service`; None if it does not route it (/healthz, /openapi.json).

    A document whose name no route serves (the gateway's own routes) keeps its paths as they are.
    """
    own = [r for r in routes if r.service == service]
    if not own:
        return path
    matching = [r for r in own if path.startswith(r.upstream_prefix)]
    if not matching:
        return None
    best = max(matching, key=lambda r: len(r.upstream_prefix))
    return best.prefix + path[len(best.upstream_prefix):]


def _gateway_security(operation: dict) -> list[dict]:
    """The service's requirement (the identity the gateway signs) as a client meets it at the gateway."""
    requirement = operation.get("security")
    if requirement == []:  # public at the service too (@public)
        return []
    if requirement is not None and not any(SECURITY_SCHEME in r for r in requirement):
        return requirement
    # Routes open to the `public` role need no credentials: the gateway forwards such callers as anonymous.
    return list(CREDENTIALS) + ([{}] if "public" in operation.get("x-roles", ()) else [])


def merge(documents: dict[str, dict | None], routes: tuple[Route, ...] = ROUTES, version: str = "0.0.0") -> dict:
    """One OpenAPI document from the services' own, keyed by service name (and the gateway's, own_document).

    A service whose document is None (it did not answer) is listed in `x-unavailable`. Paths become
    the gateway's (routes); operation ids get the service's name in front; components defined
    differently by two services are prefixed with the service's name, identical ones are shared.
    """
    available = {name: doc for name, doc in sorted(documents.items()) if doc}
    renames = _component_renames(available)
    merged: dict = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "EnvGrid API", "version": version, "description": (
            "The whole public API of EnvGrid, through the gateway: each service documents its own routes "
            "and bodies, and the gateway its own (tokens, administration, Open311, status), merged here. "
            "Call with an API key (`X-API-Key`) or a person's token (`Authorization: Bearer`); routes open "
            "to the public need neither. Every error has one shape (the Error schema) and a request id to "
            "quote, except Open311's, which keep GeoReport v2's. Services that did not answer when this "
            "document was assembled are listed in `x-unavailable`.")},
        "paths": {},
        "components": {},
        "tags": [],
        "x-services": {name: (doc.get("info") or {}).get("version") for name, doc in available.items()},
        "x-unavailable": sorted(name for name, doc in documents.items() if not doc),
    }
    tags: dict[str, dict] = {}
    schemes: dict[str, dict] = {}
    for service, original in available.items():
        document = _rewrite_refs(copy.deepcopy(original), renames[service])
        for section, items in (document.get("components") or {}).items():
            for name, value in items.items():
                if section == "securitySchemes":
                    if name != SECURITY_SCHEME:
                        schemes.setdefault(name, value)
                    continue
                merged["components"].setdefault(section, {})[renames[service].get((section, name), name)] = value
        for path, item in (document.get("paths") or {}).items():
            target_path = public_path(service, path, routes)
            if target_path is None:
                continue
            target = merged["paths"].setdefault(target_path, {})
            for key, value in item.items():
                if key in target:
                    if key in HTTP_METHODS:
                        log.warning("two services document one route", extra={"path": target_path, "method": key})
                    continue
                if key in HTTP_METHODS:
                    value = dict(value)
                    if "operationId" in value:
                        value["operationId"] = f"{service}.{value['operationId']}"
                    value["security"] = _gateway_security(value)
                target[key] = value
        for tag in document.get("tags") or ():
            tags.setdefault(tag["name"], tag)
    merged["components"]["securitySchemes"] = {**schemes, **GATEWAY_SCHEMES}
    unauthenticated = merged["components"].get("responses", {}).get("Unauthenticated")
    if unauthenticated is not None:
        unauthenticated["description"] = ("No credentials where the route needs them, "
                                          "or an unknown, revoked or expired key or token")
    merged["tags"] = [tags[name] for name in sorted(tags)]
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


# -- the gateway's own document ---------------------------------------------------------
def own_rules(app) -> list:
    """The URL rules of the gateway's own API."""
    return [rule for rule in documented_rules(app)
            if rule.endpoint not in UNDOCUMENTED_ENDPOINTS
            and rule.endpoint.rsplit(".", 1)[0] not in UNDOCUMENTED_BLUEPRINTS]


def _needs_credentials(operation: dict, roles) -> None:
    """A route of the gateway that authenticates its caller itself (auth.gateway_roles), documented as a
    service's role-restricted route is: the caller's identity, with these roles.

    merge() turns that into the gateway's credentials, as it does for the services' routes.
    """
    roles = sorted(roles)
    operation["security"] = [{SECURITY_SCHEME: []}]
    operation["x-roles"] = roles
    operation["description"] = "\n\n".join(filter(None, (operation.get("description"),
                                                        f"Roles: {', '.join(roles)}.")))
    responses = {**operation["responses"], "401": {"$ref": "#/components/responses/Unauthenticated"}}
    if not set(roles) >= ident.ROLES:
        responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))


def _fixed_path_parameter(item: dict) -> dict | None:
    for key, operation in item.items():
        if key in HTTP_METHODS:
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path" and "enum" in parameter.get("schema", {}):
                    return parameter
    return None


def _one_path_per_value(paths: dict) -> dict:
    """/requests.{fmt} with fmt json or xml → /requests.json and /requests.xml: the URLs clients call.

    Where the value is a format (Open311's), only its media type stays in the answers; the
    operation ids get the value, so they stay unique.
    """
    out: dict = {}
    pending = list(paths.items())
    while pending:
        path, item = pending.pop(0)
        fixed = _fixed_path_parameter(item)
        if fixed is None:
            out[path] = item
            continue
        for value in fixed["schema"]["enum"]:
            concrete = {}
            for key, operation in item.items():
                operation = copy.deepcopy(operation)
                if key in HTTP_METHODS:
                    operation["parameters"] = [p for p in operation.get("parameters", ())
                                               if not (p["in"] == "path" and p["name"] == fixed["name"])]
                    if not operation["parameters"]:
                        del operation["parameters"]
                    operation["operationId"] = f"{operation['operationId']}.{value}"
                    media = open311.FORMATS.get(value)
                    for response in operation["responses"].values():
                        if media in response.get("content", {}):
                            response["content"] = {media: response["content"][media]}
                concrete[key] = operation
            pending.append((path.replace("{" + fixed["name"] + "}", value), concrete))
    return dict(sorted(out.items()))


def own_document(app, version: str = "0.0.0") -> dict:
    """The gateway's own routes as one more document to merge: /auth, /admin, /open311/v2, /status.

    Built by the kit from the views (their @doc, docstrings and schemas) as a service's is. The
    views are all @public to the kit, the gateway being the front door; those that authenticate
    their caller (auth.gateway_roles) are documented with the roles they allow, as a service's.
    """
    rules = own_rules(app)
    document = build_document(app, title="EnvGrid gateway", version=version, rules=rules, description=(
        "The gateway's own routes: people's tokens, administration of keys and accounts, Open311 "
        "GeoReport v2 and the upstreams' status."))
    for rule in rules:
        roles = getattr(app.view_functions[rule.endpoint], "_gateway_roles", None)
        if roles is None:
            continue
        path, _ = openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            _needs_credentials(document["paths"][path][method.lower()], roles)
    document["paths"] = _one_path_per_value(document["paths"])
    return document


# -- fetching and caching --------------------------------------------------------------
def _fetch(app, service: str, request_id: str) -> dict | None:
    with app.app_context():
        g.request_id = request_id
        try:
            status, body = proxy.call_upstream(service, "GET", "/openapi.json", DOCS_IDENTITY,
                                               timeout_s=FETCH_TIMEOUT_S)
        except Exception as exc:  # unavailable, slow, not JSON: the others still make a document
            log.warning("no OpenAPI document", extra={"service": service, "reason": str(exc)[:200]})
            return None
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("paths"), dict):
        log.warning("no OpenAPI document", extra={"service": service, "reason": f"status {status}"})
        return None
    return body


def fetch_documents(app, services=SERVICES) -> dict[str, dict | None]:
    """Every service's own document, asked in parallel; None for each that did not answer."""
    request_id = g.get("request_id", "")
    with ThreadPoolExecutor(max_workers=len(services), thread_name_prefix="openapi-fetch") as pool:
        futures = {service: pool.submit(_fetch, app, service, request_id) for service in services}
        return {service: future.result() for service, future in futures.items()}


_init_lock = threading.Lock()


def merged_document() -> bytes:
    app = current_app._get_current_object()
    with _init_lock:
        state = app.extensions.setdefault("gateway_docs", {"lock": threading.Lock(), "at": 0.0, "body": None,
                                                           "ttl": 0.0, "own": None})
    with state["lock"]:
        now = time.monotonic()
        if state["body"] is None or now - state["at"] >= state["ttl"]:
            version = package_version(runtime().spec)
            if state["own"] is None:  # the gateway's routes do not change while it runs
                state["own"] = own_document(app, version)
            document = merge({**fetch_documents(app), OWN: state["own"]}, version=version)
            state.update(body=json.dumps(document, ensure_ascii=False).encode(), at=now,
                         ttl=CACHE_INCOMPLETE_S if document["x-unavailable"] else CACHE_S)
        return state["body"]


# -- routes ------------------------------------------------------------------------------
@docs_blueprint.get("/openapi.json")
@public
def openapi_document():
    return Response(merged_document(), mimetype="application/json")


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>EnvGrid API</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" href="{icon}">
<style>body {{ margin: 0; }}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@docs_blueprint.get("/docs")
@public
def docs_page():
    def static(name):
        return html.escape(url_for("docs.docs_static", filename=name))
    body = _PAGE.format(css=static("swagger-ui.css"), icon=static("favicon-32x32.png"),
                        bundle=static("swagger-ui-bundle.js"), init=html.escape(url_for("docs.docs_init")))
    return Response(body, mimetype="text/html")


@docs_blueprint.get("/docs/init.js")
@public
def docs_init():
    # A file rather than an inline script, so a Content-Security-Policy of 'self' allows it.
    # validatorUrl null: Swagger UI would otherwise send the document to an outside validator.
    script = ("window.ui = SwaggerUIBundle({url: %s, dom_id: '#swagger-ui', deepLinking: true, "
              "validatorUrl: null, presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});\n"
              % json.dumps(url_for("docs.openapi_document")))
    return Response(script, mimetype="text/javascript")


@docs_blueprint.get("/docs/static/<path:filename>")
@public
def docs_static(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
