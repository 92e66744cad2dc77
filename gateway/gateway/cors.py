"""CORS for the web clients: the headers an answer gets when its request came from an allowed origin.

Pure: used by the Flask hook (edge.py) and by the forwarding path (proxy.py) alike.
"""
from __future__ import annotations

import os


def allowed_origins() -> set[str]:
    return {o.strip() for o in os.environ.get("CORS_ORIGINS", "").split(",") if o.strip()}


def cors_headers(origin: str | None, method: str) -> list[tuple[str, str]]:
    if not origin or origin not in allowed_origins():
        return []
    headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
               ("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")]
    if method == "OPTIONS":
        headers += [("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
                    ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, "
                                                     "Idempotency-Key, X-Request-ID, X-Tracking-Code"),
                    ("Access-Control-Max-Age", "600")]
    return headers
