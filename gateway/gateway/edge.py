"""What the gateway adds around every answer: CORS for the web clients, and the upstreams' status."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from servicekit.openapi import doc
from servicekit.web import public

from . import schemas
from .cors import cors_headers
from .proxy import _state
from .routing import SERVICES

edge_blueprint = Blueprint("edge", __name__)


@edge_blueprint.after_app_request
def cors(response: Response) -> Response:
    # Preflight OPTIONS requests are answered by Flask (proxy.preflight for the forwarded paths);
    # this adds the CORS headers to them and to every other answer Flask gives.
    for name, value in cors_headers(request.headers.get("Origin"), request.method):
        response.headers[name] = value
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
