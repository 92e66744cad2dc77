"""Events rewards consumes: reports (to know public ones), closed cases, published subsidy lists."""
from envgrid_contracts.assessment import SUBSIDIES_PUBLISHED
from envgrid_contracts.incident import INCIDENT_REPORTED

from .awards import propose_for_case, propose_subsidies, remember_report

HANDLERS = {INCIDENT_REPORTED: remember_report, "case.closed": propose_for_case,
            SUBSIDIES_PUBLISHED: propose_subsidies}
