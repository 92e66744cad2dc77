"""What the gateway adds around every answer: CORS for the web clients, and the upstreams' status."""
from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify, request

from servicekit.openapi import doc
from servicekit.web import public

from . import schemas
from .proxy import _state
from .routing import SERVICES

edge_blueprint = Blueprint("edge", __name__)


def allowed_origins() -> set[str]:
    return {o.strip() for o in os.environ.get("CORS_ORIGINS", "").split(",") if o.strip()}


@edge_blueprint.after_app_request
def cors(response: Response) -> Response:
    # Preflight OPTIONS requests are answered by Flask's automatic OPTIONS handling;
    # this adds the CORS headers to it and to every other answer.
    origin = request.headers.get("Origin")
    if origin and origin in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ("Authorization, Content-Type, X-API-Key, "
                                                                "Idempotency-Key, X-Request-ID, X-Tracking-Code")
            response.headers["Access-Control-Max-Age"] = "600"
    return response


@edge_blueprint.get("/status")
@doc(response=schemas.GatewayStatus, tags=["gateway: status"])
@public
def status():
    """Every upstream instance's /readyz, for operators: one look at the whole system.

    503 with the same body (status `degraded`) while any instance is not ready.
    """
    state = _state()
    report, healthy = {}, True
    for service in SERVICES:
        instances = []
        for base in state["upstreams"].addresses[service]:
            try:
                answer = state["connections"].request(base, "GET", "/readyz", None, {}, 2.0)
                answer.read()
                ok = answer.status == 200
            except Exception:  # unreachable is simply not ready
                ok = False
            instances.append({"url": base, "ready": ok, "circuit_open": not state["breaker"].allow(base)})
            healthy &= ok
        report[service] = instances
    return jsonify(status="ok" if healthy else "degraded", services=report), (200 if healthy else 503)
