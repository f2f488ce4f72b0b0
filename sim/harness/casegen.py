"""Deterministic generator of valid random cases (CASES.md, format 1).

:func:`generate_cases` yields JSON-ready case dicts built from the built-in catalog, for
benchmarks, property tests and fleet-sized QA fixtures. It draws only from its own
``random.Random(seed)``, so the same ``(n, seed)`` always gives the same cases, on every
machine and in every process, and the global random state is never touched.

Every case is valid: it evaluates to a verdict, never to an error record. The mix is
meant to look like a real fleet while still reaching every branch of the rules layer:

- MCA and MOSA accounts, card and invoice payers, the countries of :data:`COUNTRIES`,
  the currencies of :data:`CURRENCIES` (minor units 0, 2 and 3) and every rounding
  policy of PRORATION.md section 4;
- one to three subscriptions per tenant, sometimes two of the same product (R-ELIG-05);
- terms P1M, P1Y and P3Y with every billing frequency that divides the term (P-CAL-05);
- anchors on any day, over-sampling month ends (28-31) and Feb 29 (P-CAL-02), and a
  request day ``on`` inside the current term, over-sampling the days 0..6 after the
  anchor (the MCA windows of P-CHG-05/07) and the last day of the term;
- kinds ``change`` (mostly to an R-ELIG-13 target; partial and larger MCA moves; term
  or frequency changes; MCA ``renewal`` schedules), ``cancel`` and ``reduce``;
- every blocker condition of R-ELIG-01..10 at a low, realistic rate
  (:data:`BLOCKER_RATES`), so that most change requests are allowed.
"""

from __future__ import annotations

import random
from calendar import monthrange
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, term_end
from ..rules.catalog import Catalog, builtin_catalog
from ..rules.money import ROUNDING_POLICIES, format_minor, minor_unit

__all__ = ["BLOCKER_RATES", "COUNTRIES", "CURRENCIES", "generate_case", "generate_cases"]

COUNTRIES = ("US", "GB", "DE", "SE", "JP", "FR")
# (currency, weight): mostly USD/EUR, with JPY (0 digits) and KWD (3 digits) for edges.
CURRENCIES = (("USD", 40), ("EUR", 25), ("SEK", 15), ("JPY", 10), ("KWD", 10))
KINDS = (("change", 60), ("cancel", 20), ("reduce", 20))
TERMS = (("P1M", 30), ("P1Y", 55), ("P3Y", 15))
STATUS_WEIGHTS = (("active", 93), ("provisioning", 2), ("disabled", 2), ("expired", 1.5),
                  ("suspended", 1.5))
# Frequencies whose months divide the term's months (P-CAL-05).
FREQUENCIES = {
    term: tuple(f for f, months in BILLING_FREQUENCY_MONTHS.items()
                if months <= term_months and term_months % months == 0)
    for term, term_months in TERM_MONTHS.items()
}

# Probability of each blocker condition, per subscription or tenant (R-ELIG-01..10).
# Statuses other than `active` (R-ELIG-02/10) come from STATUS_WEIGHTS.
BLOCKER_RATES: dict[str, float] = {
    "users_exceed_licenses": 0.03,  # R-ELIG-01
    "not_provisioned": 0.02,  # R-ELIG-02
    "open_incident": 0.05,  # R-ELIG-02 (when the incident hits a service of the plan)
    "change_in_progress": 0.02,  # R-ELIG-03
    "credit_check_pending": 0.03,  # R-ELIG-03
    "not_eligible": 0.02,  # R-ELIG-04
    "duplicate_product": 0.10,  # R-ELIG-05 (per extra subscription)
    "government_or_nonprofit": 0.06,  # R-ELIG-06
    "unsupported_target": 0.10,  # R-ELIG-07 (a random target instead of an offered one)
    "blocking_add_on": 0.04,  # R-ELIG-08
    "unpaid_balance": 0.10,  # R-ELIG-09 (of invoice payers)
    "other_problem": 0.01,  # R-ELIG-10
}

ANCHOR_YEARS = (2024, 2027)  # first and last year of an anchor; Feb 29 also from 2028


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    values, cumulative = _CUMULATIVE[table]
    return rng.choices(values, cum_weights=cumulative)[0]


# (values, cumulative weights) of each weight table, computed once for _weighted.
_CUMULATIVE = {
    table: (tuple(value for value, _ in table),
            tuple(accumulate(weight for _, weight in table)))
    for table in (CURRENCIES, KINDS, TERMS, STATUS_WEIGHTS)
}


class _Generator:
    """The catalog facts the generator draws from, computed once per call."""

    def __init__(self, catalog: Catalog) -> None:
        plans = catalog.plans
        self.commercial = sorted(p for p, plan in plans.items() if plan.sector == "commercial")
        self.other_sector = sorted(p for p, plan in plans.items()
                                   if plan.sector != "commercial")
        self.all_plans = sorted(plans)
        self.targets = {p: sorted(t.id for t in catalog.automatic_targets(p)) for p in plans}
        self.services = sorted(catalog.services)
        self.free_add_ons = sorted(a for a, add_on in catalog.add_ons.items()
                                   if not add_on.blocks_change)
        self.blocking_add_ons = sorted(a for a, add_on in catalog.add_ons.items()
                                       if add_on.blocks_change)
        self.rounding = sorted(ROUNDING_POLICIES)

    # ------------------------------------------------------------------- dates

    def anchor(self, rng: random.Random) -> date:
        """Any day, with month ends (28-31) and Feb 29 over-sampled (P-CAL-02)."""
        roll = rng.random()
        if roll < 0.04:
            return date(rng.choice((2024, 2028)), 2, 29)
        year = rng.randint(*ANCHOR_YEARS)
        month = rng.randint(1, 12)
        last = monthrange(year, month)[1]
        if roll < 0.25:
            return date(year, month, min(rng.randint(28, 31), last))
        return date(year, month, rng.randint(1, last))

    def request_day(self, rng: random.Random, anchor: date, term: str) -> date:
        """A day inside the current term, over-sampling the MCA windows and the term end."""
        span = (term_end(anchor, term) - anchor).days  # last offset inside the term
        roll = rng.random()
        if roll < 0.25:
            offset = rng.randint(0, min(6, span))  # the 7-day and 24-hour windows
        elif roll < 0.30:
            offset = span
        else:
            offset = rng.randint(0, span)
        return anchor + timedelta(days=offset)

    # ----------------------------------------------------------- subscriptions

    def add_ons(self, rng: random.Random) -> list[dict[str, Any]]:
        add_ons: list[dict[str, Any]] = []
        if rng.random() < 0.25:
            for sku in rng.sample(self.free_add_ons, rng.randint(1, 2)):
                add_ons.append({"sku": sku, "blocks_change": False} if rng.random() < 0.5
                               else {"sku": sku})
        if rng.random() < 0.01:  # an add-on unknown to the catalog must say whether it blocks
            add_ons.append({"sku": "CUSTOM_ADD_ON", "blocks_change": False})
        if rng.random() < BLOCKER_RATES["blocking_add_on"]:
            add_ons.append({"sku": rng.choice(self.blocking_add_ons)})
        return add_ons

    def subscription(self, rng: random.Random, subscription_id: str, plan: str,
                     tenant_domain: str, reducible: bool) -> dict[str, Any]:
        """One subscription; `reducible` keeps ``assigned < licenses`` (a valid reduce)."""
        term = _weighted(rng, TERMS)
        frequency = rng.choice(FREQUENCIES[term])
        size = rng.random()
        if size < 0.6:
            licenses = rng.randint(1, 25)
        elif size < 0.95:
            licenses = rng.randint(26, 300)
        else:
            licenses = rng.randint(301, 2000)
        if reducible:
            licenses = max(licenses, 2)
        if not reducible and rng.random() < BLOCKER_RATES["users_exceed_licenses"]:
            assigned = licenses + rng.randint(1, 5)
        elif rng.random() < 0.5:
            assigned = licenses - (1 if reducible else 0)
        else:
            assigned = rng.randint(0, licenses - 1 if reducible else licenses)
        status = _weighted(rng, STATUS_WEIGHTS)
        subscription: dict[str, Any] = {
            "subscription_id": subscription_id,
            "plan": plan,
            "licenses": licenses,
            "assigned": assigned,
            "term": term,
            "billing_frequency": frequency,
            "anchor": self.anchor(rng).isoformat(),
        }
        if rng.random() < 0.1:
            subscription["domain"] = f"sub{rng.randint(1, 9)}.{tenant_domain}"
        flags = {
            "status": status,
            "provisioned": rng.random() >= BLOCKER_RATES["not_provisioned"],
            "add_ons": self.add_ons(rng),
            "change_in_progress": rng.random() < BLOCKER_RATES["change_in_progress"],
            "eligible_for_change": rng.random() >= BLOCKER_RATES["not_eligible"],
            "other_problem": rng.random() < BLOCKER_RATES["other_problem"],
        }
        defaults = {"status": "active", "provisioned": True, "add_ons": [],
                    "change_in_progress": False, "eligible_for_change": True,
                    "other_problem": False}
        explicit = rng.random() < 0.5  # half the cases spell out the default values too
        for key, value in flags.items():
            if explicit or value != defaults[key]:
                subscription[key] = value
        return subscription

    def plans_of_tenant(self, rng: random.Random, count: int) -> list[str]:
        if rng.random() < BLOCKER_RATES["government_or_nonprofit"]:
            first = rng.choice(self.other_sector)
        else:
            first = rng.choice(self.commercial)
        plans = [first]
        for _ in range(count - 1):
            if rng.random() < BLOCKER_RATES["duplicate_product"]:
                plans.append(rng.choice(plans))  # a second subscription of one product
            else:
                plans.append(rng.choice([p for p in self.all_plans if p not in plans]))
        return plans

    # ---------------------------------------------------------------- requests

    def change(self, rng: random.Random, subscription: dict[str, Any], account: str
               ) -> dict[str, Any]:
        plan = subscription["plan"]
        offered = self.targets[plan]
        term, frequency = subscription["term"], subscription["billing_frequency"]
        roll = rng.random()
        if roll < 0.08:
            target = plan  # same plan, new term or frequency (below)
        elif roll < 0.08 + BLOCKER_RATES["unsupported_target"] or not offered:
            target = rng.choice([p for p in self.all_plans if p != plan])
        else:
            target = rng.choice(offered)
        new_term, new_frequency = term, frequency
        if target == plan or rng.random() < 0.2:
            options = [(t, f) for t in TERM_MONTHS for f in FREQUENCIES[t]
                       if (t, f) != (term, frequency)]
            new_term, new_frequency = rng.choice(options)
        request: dict[str, Any] = {"kind": "change", "target_plan": target}
        licenses = subscription["licenses"]
        roll = rng.random()
        if account == "MCA" and roll < 0.15 and licenses > 1:
            request["licenses"] = rng.randint(1, licenses - 1)  # partial move (R-PATH-02)
        elif roll < 0.6:
            request["licenses"] = licenses
        if new_term != term or rng.random() < 0.5:
            request["term"] = new_term
        if new_frequency != frequency or rng.random() < 0.5:
            request["billing_frequency"] = new_frequency
        if account == "MCA" and rng.random() < 0.15:
            request["schedule"] = "renewal"  # P-CHG-04
        elif rng.random() < 0.5:
            request["schedule"] = "now"
        return request

    # -------------------------------------------------------------------- case

    def case(self, rng: random.Random, number: int) -> dict[str, Any]:
        kind = _weighted(rng, KINDS)
        currency = _weighted(rng, CURRENCIES)
        digits = minor_unit(currency)
        account = rng.choice(("MCA", "MOSA"))
        payment = "invoice" if rng.random() < 0.4 else "card"
        domain = f"tenant{number}.example.com"
        count = rng.choices((1, 2, 3), (60, 28, 12))[0]
        plans = self.plans_of_tenant(rng, count)
        subscriptions = [
            self.subscription(rng, f"s-{index + 1}", plan, domain,
                              reducible=(index == 0 and kind == "reduce"))
            for index, plan in enumerate(plans)
        ]
        subject = subscriptions[0]
        if count > 1 and rng.random() < 0.5:
            rng.shuffle(subscriptions)  # the subject is not always the first one
        balance = 0
        # An unpaid balance blocks invoice payers (R-ELIG-09); a card payer's does not.
        if rng.random() < BLOCKER_RATES["unpaid_balance"] * (1 if payment == "invoice" else 0.2):
            balance = rng.randint(1, 500_000)
        incidents: list[str] = []
        if rng.random() < BLOCKER_RATES["open_incident"]:
            incidents = rng.sample(self.services, rng.randint(1, 2))
        tenant: dict[str, Any] = {
            "tenant_id": f"t-{number:06d}",
            "domain": domain,
            "country": rng.choice(COUNTRIES),
            "billing_account": account,
            "payment_method": payment,
            "unpaid_balance": format_minor(balance, digits),
            "credit_check_pending": rng.random() < BLOCKER_RATES["credit_check_pending"],
            "open_incidents": incidents,
            "subscriptions": subscriptions,
        }
        anchor = date.fromisoformat(subject["anchor"])
        on = self.request_day(rng, anchor, subject["term"])
        if kind == "change":
            request = self.change(rng, subject, account)
        elif kind == "cancel":
            request = {"kind": "cancel"}
        else:
            low = max(subject["assigned"], 1)
            request = {"kind": "reduce",
                       "licenses": rng.randint(low, subject["licenses"] - 1)}
        request["subscription_id"] = subject["subscription_id"]
        request["on"] = on.isoformat()
        return {
            "format": 1,
            "case_id": f"c-{number:06d}",
            "currency": currency,
            "rounding": rng.choice(self.rounding),
            "tenant": tenant,
            "request": request,
        }


def generate_case(rng: random.Random, number: int, catalog: Catalog | None = None
                  ) -> dict[str, Any]:
    """One valid case drawn from `rng`; `number` names it (``c-000042``)."""
    return _Generator(catalog or builtin_catalog()).case(rng, number)


def generate_cases(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` valid, JSON-ready cases; the same `seed` always yields the same cases."""
    rng = random.Random(seed)
    generator = _Generator(builtin_catalog())
    for number in range(n):
        yield generator.case(rng, number)
