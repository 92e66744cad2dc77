"""HTTP bodies of rewards."""
from marshmallow import Schema, fields, validate


class Action(Schema):
    version = fields.Integer(load_default=None, allow_none=True, strict=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    blacklist = fields.Boolean(load_default=False)  # claw_back: also blacklist the reporter


class Payment(Schema):
    version = fields.Integer(load_default=None, allow_none=True, strict=True)
    channel = fields.String(required=True, validate=validate.OneOf(["bank", "wechat_pay", "alipay"]))
    reference = fields.String(required=True, validate=validate.Regexp(r"^[\w.:/-]{4,100}$",
                                                                      error="4-100 letters, digits or . _ : / -"))


class Budget(Schema):
    ceiling_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class Purpose(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=2, max=200))


class ReconLine(Schema):
    """One line of the bank's result file. status: confirmed, failed (the transfer never went
    through) or returned (退汇: confirmed earlier, sent back since); a returned line may say
    the day it came back and the bank's reason."""
    reference = fields.String(required=True, metadata={"description": "the transfer reference the payment recorded"})
    # Checked per line (not OneOf here), so that a refusal names the line.
    status = fields.String(required=True, metadata={
        "description": "confirmed | failed (never went through) | returned (退汇: confirmed earlier, sent back)"})
    returned_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "returned only: the day the bank sent the money back (Asia/Shanghai), if the file says"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "returned only: the bank's reason (e.g. 账户已销户), if the file gives one"})


class Reconciliation(Schema):
    lines = fields.List(fields.Nested(ReconLine), required=True, validate=validate.Length(min=1, max=10000))


class Format(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


class Claim(Schema):
    tracking_code = fields.String(required=True, validate=validate.Length(min=12, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=validate.Regexp(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$",
                                                                   error="not a phone number"))
    purpose = fields.String(load_default="匿名举报人认领奖励", validate=validate.Length(min=2, max=200))
