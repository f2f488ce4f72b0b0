"""planshift: a discrete-event simulator and QA harness for Microsoft 365 plan changes.

Layers, bottom to top: ``calendar`` and ``money``; ``catalog`` and ``domain``;
``eligibility``, ``billing`` and ``invoicing`` (the rules, pure functions); ``cases``
(the case/verdict format); ``cli``.
"""

from .harness.cases import Case, CaseError, Verdict, evaluate, evaluate_json, parse_case
from .rules.billing import BillingOutcome, Line, cancel_outcome, change_outcome, reduce_outcome
from .rules.calendar import ChargeCycle, add_months, charge_cycle, term_end
from .rules.catalog import Catalog, CatalogError, Plan, builtin_catalog, load_catalog
from .rules.domain import Request, Subscription, Tenant
from .rules.eligibility import ELIGIBILITY_RULES, ChangeContext, check
from .rules.money import ROUNDING_POLICIES, Price, prorate

__version__ = "0.1.0"

__all__ = [
    "ELIGIBILITY_RULES",
    "ROUNDING_POLICIES",
    "BillingOutcome",
    "Case",
    "CaseError",
    "Catalog",
    "CatalogError",
    "ChangeContext",
    "ChargeCycle",
    "Line",
    "Plan",
    "Price",
    "Request",
    "Subscription",
    "Tenant",
    "Verdict",
    "__version__",
    "add_months",
    "builtin_catalog",
    "cancel_outcome",
    "change_outcome",
    "charge_cycle",
    "check",
    "evaluate",
    "evaluate_json",
    "load_catalog",
    "parse_case",
    "prorate",
    "reduce_outcome",
    "term_end",
]
