"""Emergency orders (heavy-pollution alerts, staggered production or transport, sudden incidents):
fanned out by dispatch to the level-2 grids concerned, each acknowledging and reporting measures."""
from marshmallow import Schema, fields

from servicekit.events import registry

ORDER_ISSUED = "order.issued"
ORDER_ACKNOWLEDGED = "order.acknowledged"


@registry.register(ORDER_ISSUED, 1)
class OrderIssued(Schema):
    order_id = fields.String(required=True)
    incident_id = fields.String(required=True)
    city_reference = fields.String(allow_none=True, required=True)
    order_kind = fields.String(required=True)
    alert_level = fields.String(required=True)
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)
    targets = fields.List(fields.String(), required=True)  # level-2 grid codes


@registry.register(ORDER_ACKNOWLEDGED, 1)
class OrderAcknowledged(Schema):
    order_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    actor = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    measures_reported = fields.Boolean(required=True)
