import json

import pytest
from marshmallow import Schema, ValidationError, fields

from servicekit.events import Envelope, EventRegistry, UnknownEventType, new_envelope
from servicekit.logs import log_context

registry = EventRegistry()


@registry.register("unit.happened", 1)
class Happened(Schema):
    name = fields.String(required=True)
    count = fields.Integer(required=True, strict=True)


def test_envelope_round_trips_through_json_with_chinese_text():
    envelope = new_envelope("unit.happened", {"name": "东街街道", "count": 1}, "unit")
    raw = envelope.to_json()
    assert "东街街道" in raw  # UTF-8, not \\u escapes
    back = Envelope.from_json(raw.encode("utf-8"))
    assert (back.id, back.type, back.data, back.producer) == (envelope.id, "unit.happened", envelope.data, "unit")
    assert back.occurred_at == envelope.occurred_at


def test_new_envelope_continues_the_current_correlation_and_causation():
    with log_context(correlation_id="corr-1", causation_id="evt-0"):
        envelope = new_envelope("unit.happened", {"name": "a", "count": 1}, "unit")
    assert envelope.correlation_id == "corr-1" and envelope.causation_id == "evt-0"
    fresh = new_envelope("unit.happened", {"name": "a", "count": 1}, "unit")
    assert fresh.correlation_id == fresh.id and fresh.causation_id is None


@pytest.mark.parametrize("raw", [b"not json", b"[]", json.dumps({"id": "x"}).encode(), b"\xff\xfe"])
def test_malformed_envelopes_are_validation_errors(raw):
    with pytest.raises(ValidationError):
        Envelope.from_json(raw)


def test_producers_are_strict_and_consumers_tolerate_new_fields():
    with pytest.raises(ValidationError) as err:
        registry.validate_outgoing("unit.happened", 1, {"name": "a", "count": 1, "extra": True})
    assert "extra" in err.value.messages
    envelope = new_envelope("unit.happened", {"name": "a", "count": 2, "added_later": 1}, "unit")
    assert registry.load(envelope) == {"name": "a", "count": 2}


def test_wrong_types_are_refused_on_both_sides():
    with pytest.raises(ValidationError):
        registry.validate_outgoing("unit.happened", 1, {"name": "a", "count": "2"})
    with pytest.raises(ValidationError):
        registry.load(new_envelope("unit.happened", {"name": "a", "count": "2"}, "unit"))


def test_unknown_types_and_versions_are_named():
    with pytest.raises(UnknownEventType, match="unit.happened v2"):
        registry.validate_outgoing("unit.happened", 2, {})


def test_a_type_cannot_be_registered_twice_with_different_schemas():
    with pytest.raises(ValueError):
        registry.register("unit.happened", 1)(type("Other", (Schema,), {}))
