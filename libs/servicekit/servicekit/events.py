"""The event envelope and the registry of event schemas.

Every event travels in the envelope of DESIGN.md. Its `data` is described by one
marshmallow schema per (type, version), registered once and imported by producer
and consumers alike, so both sides validate against the same contract.
Producers are strict (unknown fields are a bug); consumers ignore fields they do
not know yet, so a producer can add a field without breaking older consumers.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .logs import causation_id_var, correlation_id_var


class UnknownEventType(LookupError):
    pass


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_.]+$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    producer = fields.String(required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


_ENVELOPE = EnvelopeSchema()  # schemas keep no state between loads: one instance serves all


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict
    producer: str
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    correlation_id: str = ""
    causation_id: str | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id, "type": self.type, "version": self.version,
            "occurred_at": self.occurred_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "producer": self.producer, "correlation_id": self.correlation_id or self.id,
            "causation_id": self.causation_id, "data": self.data,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Envelope":
        """Parse and check the envelope (not the data: see EventRegistry.load)."""
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(f"not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise ValidationError("envelope must be a JSON object")
        loaded = _ENVELOPE.load(payload)
        return cls(id=str(loaded["id"]), type=loaded["type"], version=loaded["version"],
                   occurred_at=loaded["occurred_at"], producer=loaded["producer"],
                   correlation_id=loaded["correlation_id"], causation_id=loaded["causation_id"],
                   data=loaded["data"])


class EventRegistry:
    def __init__(self):
        self._schemas: dict[tuple[str, int], type[Schema]] = {}
        self._instances: dict[tuple[str, int, str], Schema] = {}

    def register(self, event_type: str, version: int = 1):
        """Class decorator: `@registry.register("grid.created", 1)` on a Schema."""
        def decorate(schema_cls: type[Schema]) -> type[Schema]:
            key = (event_type, version)
            if key in self._schemas and self._schemas[key] is not schema_cls:
                raise ValueError(f"event {event_type} v{version} is registered twice")
            self._schemas[key] = schema_cls
            return schema_cls
        return decorate

    def schema(self, event_type: str, version: int = 1) -> type[Schema]:
        try:
            return self._schemas[(event_type, version)]
        except KeyError:
            raise UnknownEventType(f"no schema for event {event_type} v{version}") from None

    def types(self) -> list[tuple[str, int]]:
        return sorted(self._schemas)

    def _instance(self, event_type: str, version: int, unknown: str) -> Schema:
        key = (event_type, version, unknown)
        if key not in self._instances:
            self._instances[key] = self.schema(event_type, version)(unknown=unknown)
        return self._instances[key]

    def validate_outgoing(self, event_type: str, version: int, data: dict) -> dict:
        """Check a producer's data strictly and return its JSON form."""
        schema = self._instance(event_type, version, RAISE)
        loaded = schema.load(data)
        return json.loads(json.dumps(schema.dump(loaded), ensure_ascii=False, default=str))

    def load(self, envelope: Envelope) -> dict:
        """A consumer's view of the data: validated, unknown fields dropped."""
        return self._instance(envelope.type, envelope.version, EXCLUDE).load(envelope.data)


def new_envelope(event_type: str, data: dict, producer: str, version: int = 1) -> Envelope:
    """An envelope that continues the current correlation: a request's, or the handled event's."""
    event_id = str(uuid.uuid4())
    return Envelope(type=event_type, data=data, producer=producer, version=version, id=event_id,
                    correlation_id=correlation_id_var.get() or event_id,
                    causation_id=causation_id_var.get())


# The one registry of the system: envgrid_contracts registers every event on it.
registry = EventRegistry()
