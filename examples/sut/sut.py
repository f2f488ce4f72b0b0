"""A small reference billing system, written independently of planshift, with seeded bugs.

It exists to prove the QA harness: with no ``--bug`` it agrees with the model on every
case; each ``--bug NAME`` switches on one realistic defect that ``planshift check``
must catch, classify and shrink. Standard library only; it never imports ``sim``.

    python examples/sut/sut.py --serve-stdin [--bug NAME]...   # JSON Lines (cmd: adapter)
    python examples/sut/sut.py --serve-http PORT [--bug NAME]... # POST a case (http:)

The built-in catalog is read from ``sim/rules/data/catalog.toml`` (a data file, as a
real billing system would read its price list), or from ``--catalog FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

BUGS = {
    "per-unit-rounding": "line-* policies round the unit price, then multiply",
    "billing-days-off-by-one": "billing days exclude the last day of the cycle",
    "month-end-unclamped": "adding months to a day-31 anchor rolls into the next month",
    "ignore-blocking-addon": "an add-on that blocks the change (R-ELIG-08) is ignored",
    "mca-window-8-days": "the MCA refund window is 8 days instead of 7",
    "credit-from-new-price": "the credit of a change uses the new plan's price",
    "mca-blockers-on-mosa": "MOSA accounts are checked with the MCA blocker subset",
}
DIGITS = {"USD": 2, "EUR": 2, "SEK": 2, "GBP": 2, "NOK": 2, "DKK": 2, "CHF": 2, "AUD": 2,
          "CAD": 2, "NZD": 2, "INR": 2, "BRL": 2, "MXN": 2, "PLN": 2, "CZK": 2, "ZAR": 2,
          "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "KWD": 3, "BHD": 3, "OMR": 3,
          "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3}
MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36, "monthly": 1, "annual": 12, "triennial": 36}
BLOCKERS = [  # (rule, code); MCA accounts are checked with the MCA ones only
    ("R-ELIG-01", "USERS_EXCEED_LICENSES", False),
    ("R-ELIG-02", "NOT_PROVISIONED_OR_UNHEALTHY", True),
    ("R-ELIG-03", "CHANGE_OR_CREDIT_CHECK_PENDING", True),
    ("R-ELIG-04", "SUBSCRIPTION_NOT_ELIGIBLE", False),
    ("R-ELIG-05", "DUPLICATE_PLANS_SAME_PRODUCT", False),
    ("R-ELIG-06", "GOVERNMENT_OR_NONPROFIT_PLAN", False),
    ("R-ELIG-07", "TARGET_NOT_SUPPORTED", True),
    ("R-ELIG-08", "ADDON_BLOCKS_CHANGE", False),
    ("R-ELIG-09", "UNPAID_INVOICE_BALANCE", False),
    ("R-ELIG-10", "OTHER", True),
]
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "sim" / "rules" / "data" / "catalog.toml"


class Billing:
    """One billing system: a catalog, and the bugs switched on."""

    def __init__(self, catalog: dict, bugs: set[str]) -> None:
        self.services = catalog["services"]
        self.plans = {pid: self._plan(pid, raw) for pid, raw in catalog["plans"].items()}
        self.add_on_blocks = {aid: raw["blocks_change"]
                              for aid, raw in catalog.get("add_ons", {}).items()}
        self.bugs = bugs

    def _plan(self, plan_id: str, raw: dict) -> dict:
        services = dict(raw["services"])
        data = raw.get("data_services")
        if data is None:
            data = [s for s in services if self.services[s]["data"]]
        prices = {term: Fraction(str(text)) for term, text in raw["prices"].items()}
        prices.setdefault("P3Y", prices["P1Y"])
        return {"id": plan_id, "product": raw.get("product", plan_id), "sector": raw["sector"],
                "services": services, "data": data, "prices": prices}

    # ------------------------------------------------------------------- calendar

    def add_months(self, day: date, months: int) -> date:
        year, month = divmod(day.month - 1 + months, 12)
        year += day.year
        month += 1
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        if day.day <= last:
            return date(year, month, day.day)
        if "month-end-unclamped" in self.bugs:  # bug: Jan 31 + 1 month = Mar 3
            return date(year, month, last) + timedelta(days=day.day - last)
        return date(year, month, last)

    def cycle(self, anchor: date, months: int, on: date) -> tuple[date, date, int]:
        """(start, end, index) of the charge cycle holding `on`."""
        index = 0
        while self.add_months(anchor, (index + 1) * months) <= on:
            index += 1
        start = self.add_months(anchor, index * months)
        end = self.add_months(anchor, (index + 1) * months) - timedelta(days=1)
        return start, end, index

    # --------------------------------------------------------------------- money

    def amount(self, price: Fraction, months: int, quantity: int, days: int, cycle_days: int,
               digits: int, rounding: str) -> int:
        """Magnitude in minor units of ``price * months * quantity * days / cycle_days``."""
        unit = price * months * days / cycle_days * 10**digits
        if rounding.startswith("unit") or "per-unit-rounding" in self.bugs:
            return _round(unit, rounding) * quantity
        return _round(unit * quantity, rounding)

    def line(self, kind: str, sub_id: str, plan: dict, price_plan: dict, term: str,
             months: int, quantity: int, start: date, end: date, cycle_days: int,
             case: dict) -> dict:
        days = (end - start).days + 1
        if "billing-days-off-by-one" in self.bugs:
            days -= 1
        magnitude = self.amount(price_plan["prices"][term], months, quantity, days,
                                cycle_days, case["digits"], case["rounding"])
        return {"type": kind, "subscription_id": sub_id, "plan": plan["id"],
                "start": start.isoformat(), "end": end.isoformat(), "billing_days": days,
                "cycle_days": cycle_days, "quantity": quantity,
                "amount": -magnitude if kind == "credit" else magnitude}

    # ----------------------------------------------------------------- requests

    def blockers(self, tenant: dict, sub: dict, current: dict, target: dict) -> list[dict]:
        mca_only = tenant["billing_account"] == "MCA" or "mca-blockers-on-mosa" in self.bugs
        incidents = set(tenant.get("open_incidents", []))
        add_ons = sub.get("add_ons", [])
        holds = {
            "R-ELIG-01": sub["assigned"] > sub["licenses"],
            "R-ELIG-02": (not sub.get("provisioned", True)
                          or sub.get("status", "active") == "provisioning"
                          or bool(incidents & set(current["services"]))),
            "R-ELIG-03": sub.get("change_in_progress", False)
            or tenant.get("credit_check_pending", False),
            "R-ELIG-04": not sub.get("eligible_for_change", True),
            "R-ELIG-05": sum(1 for other in tenant["subscriptions"]
                             if self.plans[other["plan"]]["product"] == current["product"]) > 1,
            "R-ELIG-06": current["sector"] in ("government", "nonprofit"),
            "R-ELIG-07": any(target["services"].get(s, 0) < current["services"][s]
                             for s in current["data"]),
            "R-ELIG-08": "ignore-blocking-addon" not in self.bugs and any(
                a.get("blocks_change", self.add_on_blocks.get(a["sku"], False))
                for a in add_ons),
            "R-ELIG-09": tenant["payment_method"] == "invoice"
            and Fraction(tenant.get("unpaid_balance", "0")) > 0,
            "R-ELIG-10": sub.get("other_problem", False)
            or sub.get("status", "active") in ("disabled", "expired", "suspended"),
        }
        return [{"code": code, "rule": rule} for rule, code, for_mca in BLOCKERS
                if holds[rule] and (for_mca or not mca_only)]

    def change(self, case: dict, tenant: dict, sub: dict, request: dict, on: date) -> dict:
        current = self.plans[sub["plan"]]
        target = self.plans[request["target_plan"]]
        blockers = self.blockers(tenant, sub, current, target)
        if blockers:
            return {"automatic_allowed": False, "blockers": blockers, "alignment": None,
                    "lines": [], "overlap_cost": 0}
        term = request.get("term") or sub["term"]
        frequency = request.get("billing_frequency") or sub["billing_frequency"]
        licenses = request.get("licenses") or sub["licenses"]
        new_months = MONTHS[frequency]
        anchor = date.fromisoformat(sub["anchor"])
        if request.get("schedule", "now") == "renewal":
            renewal = self.add_months(anchor, MONTHS[sub["term"]])
            end = self.add_months(renewal, new_months) - timedelta(days=1)
            charge = self.line("charge", sub["subscription_id"], target, target, term,
                               new_months, licenses, renewal, end, (end - renewal).days + 1,
                               case)
            return {"automatic_allowed": True, "blockers": [], "alignment": "scheduled",
                    "lines": [charge], "overlap_cost": 0}
        same = term == sub["term"] and frequency == sub["billing_frequency"]
        keep = tenant["billing_account"] == "MCA" and same
        old_months = MONTHS[sub["billing_frequency"]]
        start, end, _ = self.cycle(anchor, old_months, on)
        cycle_days = (end - start).days + 1
        price_plan = target if "credit-from-new-price" in self.bugs else current
        credit_term = term if "credit-from-new-price" in self.bugs else sub["term"]
        credit = self.line("credit", sub["subscription_id"], current, price_plan, credit_term,
                           old_months, min(licenses, sub["licenses"]), on, end, cycle_days,
                           case)
        if keep:
            charge = self.line("charge", sub["subscription_id"], target, target, term,
                               new_months, licenses, on, end, cycle_days, case)
        else:
            new_end = self.add_months(on, new_months) - timedelta(days=1)
            charge = self.line("charge", sub["subscription_id"], target, target, term,
                               new_months, licenses, on, new_end, (new_end - on).days + 1,
                               case)
        return {"automatic_allowed": True, "blockers": [],
                "alignment": "keep-cycle" if keep else "new-term",
                "lines": [credit, charge], "overlap_cost": 0}

    def release(self, case: dict, tenant: dict, sub: dict, quantity: int, on: date,
                cancel: bool) -> dict:
        """Cancel (P-CHG-05/06) or reduce (P-CHG-07) `quantity` licenses on day `on`."""
        plan = self.plans[sub["plan"]]
        anchor = date.fromisoformat(sub["anchor"])
        months = MONTHS[sub["billing_frequency"]]
        start, end, index = self.cycle(anchor, months, on)
        cycle_days = (end - start).days + 1
        days_in = (on - anchor).days
        window = 8 if "mca-window-8-days" in self.bugs else 7
        result = {"automatic_allowed": None, "blockers": [], "alignment": None, "lines": [],
                  "overlap_cost": 0}
        if tenant["billing_account"] == "MCA" and days_in >= window:
            rest = self.line("charge", "", plan, plan, sub["term"], months, quantity, on, end,
                             cycle_days, case)["amount"]
            later = MONTHS[sub["term"]] // months - 1 - index
            full = self.amount(plan["prices"][sub["term"]], months, quantity, 1, 1,
                               case["digits"], case["rounding"])
            result["overlap_cost"] = rest + max(later, 0) * full
            return result
        first = start if (cancel and tenant["billing_account"] == "MCA" and days_in == 0) else on
        result["lines"] = [self.line("credit", sub["subscription_id"], plan, plan, sub["term"],
                                     months, quantity, first, end, cycle_days, case)]
        return result

    def verdict(self, case: dict) -> dict:
        saved = self.plans
        try:
            for raw in (case.get("catalog") or {}).get("plans", []):
                self.plans = {**self.plans, raw["id"]: self._plan(raw["id"], raw)}
            return self._verdict(case)
        finally:
            self.plans = saved

    def _verdict(self, case: dict) -> dict:
        digits = DIGITS[case.get("currency", "USD")]
        case = {**case, "digits": digits, "rounding": case.get("rounding") or "line-half-up"}
        tenant, request = case["tenant"], case["request"]
        sub = next(s for s in tenant["subscriptions"]
                   if s["subscription_id"] == request["subscription_id"])
        on = date.fromisoformat(request["on"])
        kind = request["kind"]
        if kind == "change":
            result = self.change(case, tenant, sub, request, on)
        else:
            quantity = (sub["licenses"] if kind == "cancel"
                        else sub["licenses"] - request["licenses"])
            result = self.release(case, tenant, sub, quantity, on, kind == "cancel")
        for line in result["lines"]:
            line["amount"] = _money(line["amount"], digits)
        net = sum(Fraction(line["amount"]) for line in result["lines"])
        return {"format": 1, "case_id": case["case_id"], "kind": kind, **result,
                "overlap_cost": _money(result["overlap_cost"], digits),
                "net": _money(int(net * 10**digits), digits),
                "currency": case.get("currency", "USD"), "rounding": case["rounding"]}


def _round(value: Fraction, rounding: str) -> int:
    if rounding == "unit-truncate":
        return value.numerator // value.denominator
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (rounding != "line-half-even"
                                                            or floor % 2 == 1)):
        return floor + 1
    return floor


def _money(minor: int, digits: int) -> str:
    text = f"{abs(minor):0{digits + 1}d}"
    sign = "-" if minor < 0 else ""
    return f"{sign}{text[:-digits]}.{text[-digits:]}" if digits else f"{sign}{text}"


def answer(billing: Billing, line: bytes | str) -> dict:
    try:
        case = json.loads(line)
    except ValueError as error:
        return {"case_id": None, "error": f"not JSON: {error}"}
    try:
        return billing.verdict(case)
    except Exception as error:  # a real system's 400: say why, keep serving
        case_id = case.get("case_id") if isinstance(case, dict) else None
        return {"case_id": case_id, "error": f"{type(error).__name__}: {error}"}


def serve_stdin(billing: Billing) -> None:
    out = sys.stdout
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(answer(billing, line), separators=(",", ":")) + "\n")
            out.flush()


def serve_http(billing: Billing, port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out without a 40 ms wait

        def do_POST(self) -> None:  # the http.server hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            data = json.dumps(answer(billing, body), separators=(",", ":")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"serving on http://127.0.0.1:{server.server_address[1]}/\n")
    sys.stderr.flush()
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve-stdin", action="store_true", help="JSON Lines on stdin/stdout")
    mode.add_argument("--serve-http", type=int, metavar="PORT", help="HTTP on 127.0.0.1:PORT")
    parser.add_argument("--bug", action="append", default=[], choices=sorted(BUGS),
                        help="switch on a seeded bug (repeatable)")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    args = parser.parse_args(argv)
    with args.catalog.open("rb") as handle:
        billing = Billing(tomllib.load(handle), set(args.bug))
    try:
        if args.serve_stdin:
            serve_stdin(billing)
        else:
            serve_http(billing, args.serve_http)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
