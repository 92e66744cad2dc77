"""Events of rewards: awards through their workflow, and subsidy payouts paid."""
from marshmallow import Schema, fields

from servicekit.events import registry

# reward.payment_failed: the bank reported a transfer failed (reconciliation); the award or
# subsidy payout (told apart by kind) is payable again, state "approved", and will be paid
# again under a new reference. Like the others it names no reporter and no transfer reference.
REWARD_PAYMENT_FAILED = "reward.payment_failed"
# reward.payment_returned: the bank sent back a transfer it had confirmed (退汇: a wrong
# account, a closed card); as after a failure the award or payout is payable again, state
# "approved", to be paid under a new reference. No reporter, no reference, no bank reason.
REWARD_PAYMENT_RETURNED = "reward.payment_returned"
REWARD_EVENTS = ("reward.proposed", "reward.approved", "reward.paid", "reward.cancelled", REWARD_PAYMENT_FAILED,
                 REWARD_PAYMENT_RETURNED)
PAYOUT_PAID = "payout.paid"


class AwardEvent(Schema):
    award_id = fields.String(required=True)
    kind = fields.String(required=True)        # reward | subsidy
    incident_id = fields.String(allow_none=True, required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    state = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


for _event_type in REWARD_EVENTS:
    registry.register(_event_type, 1)(AwardEvent)
registry.register(PAYOUT_PAID, 1)(AwardEvent)
