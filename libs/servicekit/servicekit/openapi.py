"""Every service's own OpenAPI document, built from its Flask routes and marshmallow schemas.

`GET /openapi.json` (public) answers an OpenAPI 3.0.3 document of the service: each
URL rule of its blueprints (its `/api/v1/<area>/...` routes and the kit's
`/ops/probes`) becomes an operation by itself, with its method, its path
parameters typed from the Flask converters, the security requirement (the
identity the gateway signs; none for `@public` routes), the roles allowed by
`@require_roles` (`x-roles`), a summary from the view's docstring and the error
responses in the kit's one error shape. What the route itself parses is added by
`@doc`:

    @bp.post("/reports")
    @doc(body=schemas.ReportCreate, status=201, tags=["incidents: reports"])
    @require_roles(*ANYONE)
    def file_report(): ...

The document is built on the first request and kept for the life of the process.
The gateway merges the services' documents into one (gateway/docs.py).
"""
from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass
from importlib import metadata

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response
from marshmallow import INCLUDE, Schema, fields

from . import identity as ident

OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "gatewayIdentity"
DOC_PATH = "/openapi.json"
_IGNORED_METHODS = {"HEAD", "OPTIONS"}


# -- the one error shape (servicekit.errors) ---------------------------------
class ErrorDetailSchema(Schema):
    class Meta:
        # Some errors carry more, e.g. the allowed actions of a refused case action.
        unknown = INCLUDE

    status = fields.Integer(required=True, metadata={"description": "the HTTP status, repeated"})
    code = fields.String(required=True, metadata={"description": "a stable machine-readable reason",
                                                  "example": "validation_failed"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Raw(), metadata={
        "description": "per field (or `_schema` / `_body`) the reasons it was refused"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
    request_id = fields.String(required=True, allow_none=True, metadata={
        "description": "quote it when reporting a problem: the logs of every service carry it"})


# name -> (status, description); every one answers an Error body.
ERROR_RESPONSES = {
    "BadRequest": (400, "The body is not JSON, or not valid JSON"),
    "Unauthenticated": (401, "No identity signed by the gateway, or a forged or stale one"),
    "Forbidden": (403, "The caller holds none of the roles this route is for"),
    "NotFound": (404, "Nothing exists at this path (or it is outside the caller's grids)"),
    "Conflict": (409, "The change conflicts with the current state (a newer version, an illegal move, a duplicate)"),
    "PayloadTooLarge": (413, "The body is larger than this service accepts"),
    "ValidationFailed": (422, "The body or query does not pass validation; `error.fields` names each problem"),
    "UnexpectedError": (500, "Anything else; quote the request id"),
}


# -- the decorator -----------------------------------------------------------
@dataclass(frozen=True)
class Doc:
    body: object = None
    query: object = None
    response: object = None
    status: int = 200
    tags: tuple[str, ...] = ()
    errors: dict | None = None


def _schema_or_dict(value, what: str, *, fields_dict_ok: bool = False):
    if value is None or isinstance(value, Schema) or (isinstance(value, type) and issubclass(value, Schema)):
        return value
    if isinstance(value, dict):
        if fields_dict_ok:  # {name: Field} for a few query flags without a schema class
            if not all(isinstance(f, fields.Field) for f in value.values()):
                raise TypeError(f"{what}: a dict must map parameter names to marshmallow fields")
            return Schema.from_dict(value)
        return value  # an OpenAPI object, used as it is (multipart, CSV, GeoJSON bodies)
    raise TypeError(f"{what} must be a marshmallow Schema (class or instance), a dict or None, not {value!r}")


def doc(body=None, query=None, response=None, status: int = 200, tags=None, errors: dict | None = None):
    """Describe what a view parses and answers, for its service's OpenAPI document.

    body: the JSON body's Schema (class or instance), or an OpenAPI requestBody object (dict);
    query: the query string's Schema, or {name: marshmallow field} for a few flags;
    response: the success body's Schema, or an OpenAPI response object (dict);
    status: the success status; tags: where the operation is listed;
    errors: for a view that answers its errors in a shape of its own (not the kit's Error), that
    answer as an OpenAPI response object: documented for every error status (4XX, 5XX) in place of
    the kit's error responses.
    Only attributes are set: the view runs exactly as before. Works above or below
    @require_roles and @public (functools.wraps copies the attribute onto the wrapper).
    """
    if errors is not None and not isinstance(errors, dict):
        raise TypeError(f"errors must be an OpenAPI response object (a dict) or None, not {errors!r}")
    info = Doc(body=_schema_or_dict(body, "body"), query=_schema_or_dict(query, "query", fields_dict_ok=True),
               response=_schema_or_dict(response, "response"), status=int(status),
               tags=tuple([tags] if isinstance(tags, str) else (tags or ())), errors=errors)

    def decorate(view):
        view._envgrid_doc = info
        return view
    return decorate


# -- reading a view ----------------------------------------------------------
def _chain(view):
    """The view and every function it wraps (functools.wraps sets __wrapped__)."""
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        yield view
        view = getattr(view, "__wrapped__", None)


def _attr(view, name, default=None):
    for fn in _chain(view):
        if name in getattr(fn, "__dict__", {}):
            return fn.__dict__[name]
    return default


def view_roles(view) -> tuple[str, ...] | None:
    """The roles @require_roles allows on this view; None if it does not restrict roles."""
    explicit = _attr(view, "_envgrid_roles")
    if explicit is not None:
        return tuple(sorted(explicit))
    for fn in _chain(view):
        # require_roles' wrapper keeps `roles` in its closure.
        code = getattr(fn, "__code__", None)
        if code is None or not fn.__qualname__.startswith("require_roles.") or "roles" not in code.co_freevars:
            continue
        roles = fn.__closure__[code.co_freevars.index("roles")].cell_contents
        return tuple(sorted(set(roles)))
    return None


def _summary_and_description(view) -> tuple[str, str]:
    text = ""
    for fn in _chain(view):
        if fn.__doc__:
            text = fn.__doc__.strip()
            break
    if not text:
        return view.__name__.replace("_", " ").strip().capitalize(), ""
    first, _, rest = text.partition("\n")
    return first.strip().rstrip("."), re.sub(r"\n[ \t]+", "\n", rest).strip()


# -- paths -------------------------------------------------------------------
_RULE_PART = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")


def _converter_schema(converter: str | None, args: str | None) -> dict:
    if converter == "int":
        return {"type": "integer"}
    if converter == "float":
        return {"type": "number"}
    if converter == "uuid":
        return {"type": "string", "format": "uuid"}
    if converter == "any" and args:
        return {"type": "string", "enum": [a.strip().strip("'\"") for a in args.split(",") if a.strip()]}
    if converter == "path":
        return {"type": "string", "description": "may contain slashes"}
    return {"type": "string"}


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path and its path parameters: /a/<int:x> → /a/{x}, x integer."""
    params = []

    def replace(match):
        params.append({"name": match["name"], "in": "path", "required": True,
                       "schema": _converter_schema(match["converter"], match["args"])})
        return "{" + match["name"] + "}"
    return _RULE_PART.sub(replace, rule), params


def documented_rules(app: Flask):
    """The URL rules of the app's blueprints (its API and the kit's probe routes), in a stable order.

    Routes on the app itself (/healthz, /readyz, /metrics, /openapi.json) and static files are left out.
    """
    rules = [r for r in app.url_map.iter_rules()
             if "." in r.endpoint and not r.endpoint.endswith(".static") and r.endpoint in app.view_functions]
    return sorted(rules, key=lambda r: (r.rule, r.endpoint))


def _default_tag(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"] and len(parts) > 2:
        return parts[2]
    return parts[0] if parts else "default"


# -- the document --------------------------------------------------------------
_SUCCESS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


def _error_ref(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _operation(app: Flask, rule, method: str, view, plugin: MarshmallowPlugin, path_params: list[dict],
               operation_id: str) -> dict:
    info: Doc = _attr(view, "_envgrid_doc") or Doc()
    is_public = bool(_attr(view, "_envgrid_public", False))
    roles = view_roles(view)
    summary, description = _summary_and_description(view)
    op: dict = {"operationId": operation_id, "summary": summary,
                "tags": list(info.tags) or [_default_tag(rule.rule)]}
    notes = [description] if description else []
    if is_public:
        op["security"] = []
    else:
        op["security"] = [{SECURITY_SCHEME: []}]
        if roles is not None:
            op["x-roles"] = list(roles)
            notes.append("Any caller, the anonymous public included." if set(roles) >= ident.ROLES
                         else f"Roles: {', '.join(roles)}.")
    if notes:
        op["description"] = "\n\n".join(notes)

    parameters = [dict(p) for p in path_params]
    if info.query is not None:
        parameters += plugin.converter.schema2parameters(info.query, location="query")
    if parameters:
        op["parameters"] = parameters

    if isinstance(info.body, dict):
        op["requestBody"] = copy.deepcopy(info.body)  # apispec resolves schemas in place
    elif info.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": info.body}}}
    has_json_body = "application/json" in op.get("requestBody", {}).get("content", {})

    success = {"description": _SUCCESS.get(info.status, "Success")}
    if isinstance(info.response, dict):
        success.update(copy.deepcopy(info.response))
    elif info.response is not None:
        success["content"] = {"application/json": {"schema": info.response}}
    responses: dict = {str(info.status): success}
    if info.errors is not None:  # the view's own error shape, whatever the status
        responses["4XX"] = copy.deepcopy(info.errors)
        responses["5XX"] = copy.deepcopy(info.errors)
        op["responses"] = responses
        return op
    if has_json_body:
        responses["400"] = _error_ref("BadRequest")
    if not is_public:
        responses["401"] = _error_ref("Unauthenticated")
        if roles is None or not set(roles) >= ident.ROLES:
            responses["403"] = _error_ref("Forbidden")
    if path_params:
        responses["404"] = _error_ref("NotFound")
    if method not in ("GET", "HEAD"):
        responses["409"] = _error_ref("Conflict")
    if "requestBody" in op:
        responses["413"] = _error_ref("PayloadTooLarge")
    if has_json_body or info.query is not None or "requestBody" in op:
        responses["422"] = _error_ref("ValidationFailed")
    responses["default"] = _error_ref("UnexpectedError")
    op["responses"] = responses
    return op


def build_document(app: Flask, title: str, version: str, description: str | None = None, rules=None) -> dict:
    """The OpenAPI document (a plain dict) of every documented route of `app`, or of `rules` (some of them)."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version=OPENAPI_VERSION, plugins=[plugin],
                   info={"description": description or f"{title}: routes and bodies as this service serves them. "
                         "Errors have one shape (the Error schema)."})
    spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "apiKey", "in": "header", "name": ident.IDENTITY_HEADER,
        "description": f"The caller's identity as the gateway signed it: `{ident.IDENTITY_HEADER}` "
                       f"(base64url JSON: subject, roles, grids, issue time) with `{ident.SIGNATURE_HEADER}` "
                       f"(HMAC-SHA256 over it, keyed by the shared secret). Missing: 401 unless the route is "
                       f"public; forged, stale (> {ident.MAX_AGE_S} s) or naming an unknown role: 401. "
                       f"Clients never send it: they call the gateway with an API key or a token."})
    spec.components.schema("Error", schema=ErrorSchema)
    for name, (status, text) in ERROR_RESPONSES.items():
        spec.components.response(name, {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})

    paths: dict[str, dict] = {}
    used_ids: set[str] = set()
    for rule in documented_rules(app) if rules is None else sorted(rules, key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        path, path_params = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            operation_id = rule.endpoint if rule.endpoint not in used_ids else f"{rule.endpoint}.{method.lower()}"
            used_ids.add(operation_id)
            paths.setdefault(path, {}).setdefault(method.lower(), _operation(
                app, rule, method, view, plugin, path_params, operation_id))
    tags: dict[str, None] = {}
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
        for op in operations.values():
            tags.update(dict.fromkeys(op["tags"]))
    for tag in sorted(tags):
        spec.tag({"name": tag})
    return spec.to_dict()


def package_version(spec) -> str:
    """The installed version of the service's distribution (envgrid-<name>), else of its package's."""
    names = [f"envgrid-{spec.name}"]
    for blueprint in spec.blueprints:
        top = blueprint.import_name.split(".")[0]
        names += metadata.packages_distributions().get(top, [])
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "0.0.0"


def register_openapi(app: Flask, spec) -> None:
    """Serve the service's document at GET /openapi.json (public), built once on first use.

    An app that already answers /openapi.json itself (the gateway's merged document) is left alone.
    """
    if any(rule.rule == DOC_PATH for rule in app.url_map.iter_rules()):
        return
    from .web import public  # web imports this module inside create_app only
    cache: dict[str, bytes] = {}
    lock = threading.Lock()

    @app.get(DOC_PATH, endpoint="openapi_document")
    @public
    def openapi_document():
        if "body" not in cache:
            with lock:
                if "body" not in cache:
                    document = build_document(app, title=f"EnvGrid {spec.name}", version=package_version(spec))
                    cache["body"] = json.dumps(document, ensure_ascii=False).encode()
        return Response(cache["body"], mimetype="application/json")
