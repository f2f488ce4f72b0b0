"""Eligibility of an automatic change: the blocker table R-ELIG-01..13 (RULES.md section 3).

Each rule gets a case where exactly that blocker holds, and one just below its
threshold where nothing blocks. Cases go through ``evaluate_json`` (CASES.md); the table
and ``rule_set_for`` are also checked directly.
"""

from __future__ import annotations

import pytest
from helpers import blocker_codes, blocker_rules, evaluate_case, make_case

from sim.harness.cases import evaluate, evaluate_json, parse_case
from sim.rules.catalog import builtin_catalog
from sim.rules.eligibility import (
    BLOCKER_CODES,
    ELIGIBILITY_RULES,
    MCA_RULE_IDS,
    ChangeContext,
    check,
    rule_set_for,
)

ALL_CODES = [
    "USERS_EXCEED_LICENSES",  # R-ELIG-01
    "NOT_PROVISIONED_OR_UNHEALTHY",  # R-ELIG-02
    "CHANGE_OR_CREDIT_CHECK_PENDING",  # R-ELIG-03
    "SUBSCRIPTION_NOT_ELIGIBLE",  # R-ELIG-04
    "DUPLICATE_PLANS_SAME_PRODUCT",  # R-ELIG-05
    "GOVERNMENT_OR_NONPROFIT_PLAN",  # R-ELIG-06
    "TARGET_NOT_SUPPORTED",  # R-ELIG-07
    "ADDON_BLOCKS_CHANGE",  # R-ELIG-08
    "UNPAID_INVOICE_BALANCE",  # R-ELIG-09
    "OTHER",  # R-ELIG-10
]
ALL_RULES = [f"R-ELIG-{n:02d}" for n in range(1, 11)]

# NUMBERS.md "Partner API error names".
PARTNER_ERRORS = {
    "other", "delegated_admin_permissions_disabled", "subscription_status_not_active",
    "conflicting_service_types", "concurrency_conflicts", "user_context_required",
    "subscription_add_ons_present", "subscription_does_not_have_any_upgrade_paths",
    "subscription_target_offer_not_found", "subscription_not_provisioned",
}


def assert_allowed(verdict: dict) -> None:
    assert blocker_codes(verdict) == []
    assert verdict["automatic_allowed"] is True


def assert_only(verdict: dict, code: str, rule: str) -> None:
    assert blocker_codes(verdict) == [code]
    assert blocker_rules(verdict) == [rule]
    assert verdict["automatic_allowed"] is False
    assert verdict["lines"] == []
    assert verdict["alignment"] is None
    assert verdict["net"] == "0.00"


def test_baseline_case_has_no_blocker_R_ELIG_11():
    """R-ELIG-11: the default helper case is allowed (no blocker holds)."""
    assert_allowed(evaluate_case())


# ------------------------------------------------------------------ the rule table


def test_table_rows_in_rule_order_with_codes_R_ELIG_01_to_10():
    """R-ELIG-01..10: one row per rule, ordered by rule ID, codes as in RULES.md."""
    assert [rule.rule_id for rule in ELIGIBILITY_RULES] == ALL_RULES
    assert [rule.code for rule in ELIGIBILITY_RULES] == ALL_CODES
    assert list(BLOCKER_CODES) == ALL_CODES


@pytest.mark.parametrize("rule", ELIGIBILITY_RULES, ids=lambda rule: rule.rule_id)
def test_table_row_has_resolution_and_partner_error_R_ELIG_01_to_10(rule):
    """R-ELIG-01..10: every row has a resolution and a partner error of NUMBERS.md."""
    assert rule.resolution.strip()
    assert rule.partner_error in PARTNER_ERRORS


# ------------------------------------------------------------------------ R-ELIG-01


def test_users_exceed_licenses_R_ELIG_01():
    """R-ELIG-01: 11 users assigned to 10 licenses blocks (MOSA)."""
    verdict = evaluate_case(subscription={"assigned": 11})
    assert_only(verdict, "USERS_EXCEED_LICENSES", "R-ELIG-01")


def test_users_equal_licenses_is_fine_R_ELIG_01():
    """R-ELIG-01 threshold: assigned == licenses does not block."""
    assert_allowed(evaluate_case(subscription={"licenses": 10, "assigned": 10}))
    assert_allowed(evaluate_case(subscription={"licenses": 10, "assigned": 0}))


# ------------------------------------------------------------------------ R-ELIG-02


def test_incident_in_service_of_plan_R_ELIG_02():
    """R-ELIG-02: an open Exchange incident blocks a BUSINESS_BASIC subscription."""
    verdict = evaluate_case(tenant={"open_incidents": ["exchange"]})
    assert_only(verdict, "NOT_PROVISIONED_OR_UNHEALTHY", "R-ELIG-02")


def test_incident_in_non_data_service_of_plan_R_ELIG_02():
    """R-ELIG-02: any service of the plan counts, not only data ones (teams is in BASIC)."""
    verdict = evaluate_case(tenant={"open_incidents": ["teams"]})
    assert_only(verdict, "NOT_PROVISIONED_OR_UNHEALTHY", "R-ELIG-02")


def test_incident_in_service_not_in_plan_is_fine_R_ELIG_02():
    """R-ELIG-02: an Intune incident does not block BUSINESS_BASIC (no intune in it)."""
    assert_allowed(evaluate_case(tenant={"open_incidents": ["intune", "phone_system"]}))


def test_not_provisioned_R_ELIG_02():
    """R-ELIG-02: provisioned=false blocks."""
    verdict = evaluate_case(subscription={"provisioned": False})
    assert_only(verdict, "NOT_PROVISIONED_OR_UNHEALTHY", "R-ELIG-02")


def test_status_provisioning_R_ELIG_02():
    """R-ELIG-02: status `provisioning` blocks with 02 only (not the residual R-ELIG-10)."""
    verdict = evaluate_case(subscription={"status": "provisioning"})
    assert_only(verdict, "NOT_PROVISIONED_OR_UNHEALTHY", "R-ELIG-02")


# ------------------------------------------------------------------------ R-ELIG-03


def test_change_in_progress_R_ELIG_03():
    """R-ELIG-03: another plan change in progress on the subscription blocks."""
    verdict = evaluate_case(subscription={"change_in_progress": True})
    assert_only(verdict, "CHANGE_OR_CREDIT_CHECK_PENDING", "R-ELIG-03")


def test_credit_check_pending_R_ELIG_03():
    """R-ELIG-03: a pending credit check on the tenant blocks."""
    verdict = evaluate_case(tenant={"credit_check_pending": True})
    assert_only(verdict, "CHANGE_OR_CREDIT_CHECK_PENDING", "R-ELIG-03")


def test_change_in_progress_on_other_subscription_is_fine_R_ELIG_03():
    """R-ELIG-03: a change in progress on another subscription does not block this one."""
    verdict = evaluate_case(
        extra_subscriptions=[{"plan": "O365_E1", "change_in_progress": True}])
    assert_allowed(verdict)


# ------------------------------------------------------------------------ R-ELIG-04


def test_subscription_not_eligible_R_ELIG_04():
    """R-ELIG-04: eligible_for_change=false blocks."""
    verdict = evaluate_case(subscription={"eligible_for_change": False})
    assert_only(verdict, "SUBSCRIPTION_NOT_ELIGIBLE", "R-ELIG-04")


def test_subscription_eligible_is_fine_R_ELIG_04():
    """R-ELIG-04: eligible_for_change=true (here on another subscription false) is fine."""
    verdict = evaluate_case(subscription={"eligible_for_change": True},
                            extra_subscriptions=[{"plan": "O365_E1",
                                                  "eligible_for_change": False}])
    assert_allowed(verdict)


# ------------------------------------------------------------------------ R-ELIG-05


def test_two_subscriptions_same_plan_R_ELIG_05():
    """R-ELIG-05: two BUSINESS_BASIC subscriptions (this one included) block."""
    verdict = evaluate_case(extra_subscriptions=[{"plan": "BUSINESS_BASIC"}])
    assert_only(verdict, "DUPLICATE_PLANS_SAME_PRODUCT", "R-ELIG-05")


def test_same_product_across_plan_ids_R_ELIG_05():
    """R-ELIG-05 counts the *product*: two plan ids sharing product BASIC block."""
    plans = [
        {"id": "BASIC_A", "product": "BASIC", "sector": "commercial",
         "services": {"exchange": 2, "sharepoint": 2, "teams": 1},
         "prices": {"P1M": "7.20", "P1Y": "6.00"}},
        {"id": "BASIC_B", "product": "BASIC", "sector": "commercial",
         "services": {"exchange": 2, "sharepoint": 2, "teams": 1},
         "prices": {"P1M": "7.20", "P1Y": "6.00"}},
    ]
    verdict = evaluate_case(
        catalog={"plans": plans},
        subscription={"plan": "BASIC_A"},
        extra_subscriptions=[{"plan": "BASIC_B"}],
    )
    assert_only(verdict, "DUPLICATE_PLANS_SAME_PRODUCT", "R-ELIG-05")


def test_one_subscription_per_product_is_fine_R_ELIG_05():
    """R-ELIG-05 threshold: one subscription of the product (plus other products) is fine."""
    verdict = evaluate_case(
        extra_subscriptions=[{"plan": "BUSINESS_STANDARD"}, {"plan": "O365_E1"}])
    assert_allowed(verdict)


def test_three_subscriptions_same_product_R_ELIG_05():
    """R-ELIG-05: three of the same product block once (one blocker, not two)."""
    verdict = evaluate_case(
        extra_subscriptions=[{"plan": "BUSINESS_BASIC"}, {"plan": "BUSINESS_BASIC"}])
    assert_only(verdict, "DUPLICATE_PLANS_SAME_PRODUCT", "R-ELIG-05")


# ------------------------------------------------------------------------ R-ELIG-06


def test_government_plan_R_ELIG_06():
    """R-ELIG-06: a government plan (O365_G1 -> O365_G3, no data downgrade) blocks."""
    verdict = evaluate_case(subscription={"plan": "O365_G1"},
                            request={"target_plan": "O365_G3"})
    assert_only(verdict, "GOVERNMENT_OR_NONPROFIT_PLAN", "R-ELIG-06")


def test_nonprofit_plan_R_ELIG_06():
    """R-ELIG-06: a nonprofit plan blocks."""
    verdict = evaluate_case(subscription={"plan": "BUSINESS_BASIC_NONPROFIT"},
                            request={"target_plan": "BUSINESS_STANDARD_NONPROFIT"})
    assert_only(verdict, "GOVERNMENT_OR_NONPROFIT_PLAN", "R-ELIG-06")


def test_commercial_plan_is_fine_R_ELIG_06():
    """R-ELIG-06: a commercial plan (O365_E1 -> O365_E3) does not block."""
    assert_allowed(evaluate_case(subscription={"plan": "O365_E1"},
                                 request={"target_plan": "O365_E3"}))


# ------------------------------------------------------------------------ R-ELIG-07


def test_target_lacks_data_service_R_ELIG_07():
    """R-ELIG-07: BUSINESS_BASIC -> APPS_FOR_BUSINESS loses the mailbox (no exchange)."""
    verdict = evaluate_case(request={"target_plan": "APPS_FOR_BUSINESS"})
    assert_only(verdict, "TARGET_NOT_SUPPORTED", "R-ELIG-07")


def test_target_has_lower_data_service_level_R_ELIG_07():
    """R-ELIG-07: O365_E3 (exchange 3) -> BUSINESS_PREMIUM (exchange 2) is a downgrade."""
    verdict = evaluate_case(subscription={"plan": "O365_E3"},
                            request={"target_plan": "BUSINESS_PREMIUM"})
    assert_only(verdict, "TARGET_NOT_SUPPORTED", "R-ELIG-07")


def test_same_data_service_levels_is_fine_R_ELIG_07():
    """R-ELIG-07 threshold: same levels (BASIC exchange 2 -> STANDARD exchange 2) are fine."""
    assert_allowed(evaluate_case(request={"target_plan": "BUSINESS_STANDARD"}))


def test_lower_non_data_service_is_fine_R_ELIG_07():
    """R-ELIG-07 looks at data services only: O365_E1 (onedrive 3) -> BUSINESS_BASIC
    (onedrive 2, exchange/sharepoint equal) is allowed."""
    assert_allowed(evaluate_case(subscription={"plan": "O365_E1"},
                                 request={"target_plan": "BUSINESS_BASIC"}))


def test_case_catalog_data_services_decide_R_ELIG_07():
    """R-ELIG-07 uses the plan's `data_services`: a case plan whose only data service is
    sharepoint may move to a plan without exchange."""
    plans = [
        {"id": "SP_ONLY", "sector": "commercial",
         "services": {"exchange": 2, "sharepoint": 2}, "data_services": ["sharepoint"],
         "prices": {"P1M": "5.00", "P1Y": "4.00"}},
        {"id": "SP_PLUS", "sector": "commercial", "services": {"sharepoint": 3},
         "prices": {"P1M": "6.00", "P1Y": "5.00"}},
    ]
    verdict = evaluate_case(catalog={"plans": plans}, subscription={"plan": "SP_ONLY"},
                            request={"target_plan": "SP_PLUS"})
    assert_allowed(verdict)


# ------------------------------------------------------------------------ R-ELIG-08


def test_catalog_addon_that_blocks_R_ELIG_08():
    """R-ELIG-08: EXCHANGE_ARCHIVING blocks (catalog blocks_change = true)."""
    verdict = evaluate_case(subscription={"add_ons": [{"sku": "EXCHANGE_ARCHIVING"}]})
    assert_only(verdict, "ADDON_BLOCKS_CHANGE", "R-ELIG-08")


def test_case_addon_flagged_blocking_R_ELIG_08():
    """R-ELIG-08: an add-on unknown to the catalog with blocks_change=true blocks."""
    verdict = evaluate_case(
        subscription={"add_ons": [{"sku": "CUSTOM_THING", "blocks_change": True}]})
    assert_only(verdict, "ADDON_BLOCKS_CHANGE", "R-ELIG-08")


def test_non_blocking_addons_are_fine_R_ELIG_08():
    """R-ELIG-08: TEAMS_PHONE and AUDIO_CONFERENCING do not block."""
    verdict = evaluate_case(subscription={"add_ons": [
        {"sku": "TEAMS_PHONE"}, {"sku": "AUDIO_CONFERENCING", "blocks_change": False}]})
    assert_allowed(verdict)


# ------------------------------------------------------------------------ R-ELIG-09


def test_invoice_payer_with_balance_R_ELIG_09():
    """R-ELIG-09: an invoice payer with 0.01 unpaid blocks."""
    verdict = evaluate_case(tenant={"payment_method": "invoice", "unpaid_balance": "0.01"})
    assert_only(verdict, "UNPAID_INVOICE_BALANCE", "R-ELIG-09")


def test_invoice_payer_without_balance_is_fine_R_ELIG_09():
    """R-ELIG-09 threshold: an invoice payer with a zero balance is fine."""
    assert_allowed(evaluate_case(tenant={"payment_method": "invoice",
                                         "unpaid_balance": "0.00"}))


def test_card_payer_with_balance_is_fine_R_ELIG_09():
    """R-ELIG-09 applies to invoice payers only: a card payer owing 100.00 is fine."""
    assert_allowed(evaluate_case(tenant={"payment_method": "card",
                                         "unpaid_balance": "100.00"}))


# ------------------------------------------------------------------------ R-ELIG-10


def test_other_problem_R_ELIG_10():
    """R-ELIG-10: the residual other_problem flag blocks."""
    verdict = evaluate_case(subscription={"other_problem": True})
    assert_only(verdict, "OTHER", "R-ELIG-10")


@pytest.mark.parametrize("status", ["disabled", "expired", "suspended"])
def test_inactive_status_R_ELIG_10(status):
    """R-ELIG-10: an inactive (not provisioning) status blocks as OTHER."""
    verdict = evaluate_case(subscription={"status": status})
    assert_only(verdict, "OTHER", "R-ELIG-10")


def test_active_without_problem_is_fine_R_ELIG_10():
    """R-ELIG-10 threshold: status active and other_problem false does not block."""
    assert_allowed(evaluate_case(subscription={"status": "active", "other_problem": False}))


# ------------------------------------------------------------------------ R-ELIG-11


def all_blockers_case(billing_account: str = "MOSA") -> dict:
    """A case where each of R-ELIG-01..10 holds."""
    return make_case(
        tenant={
            "billing_account": billing_account,
            "payment_method": "invoice",
            "unpaid_balance": "12.34",  # R-ELIG-09
            "credit_check_pending": False,
            "open_incidents": ["exchange"],  # R-ELIG-02
        },
        subscription={
            "plan": "O365_G3",  # R-ELIG-06 (government)
            "licenses": 10,
            "assigned": 12,  # R-ELIG-01
            "change_in_progress": True,  # R-ELIG-03
            "eligible_for_change": False,  # R-ELIG-04
            "add_ons": [{"sku": "EXTRA_FILE_STORAGE"}],  # R-ELIG-08
            "other_problem": True,  # R-ELIG-10
        },
        extra_subscriptions=[{"plan": "O365_G3", "assigned": 0}],  # R-ELIG-05
        request={"target_plan": "O365_G1"},  # R-ELIG-07: exchange 3 -> 2
    )


def test_all_blockers_reported_in_rule_order_R_ELIG_11():
    """R-ELIG-11: every blocker that holds is reported, ordered by rule ID."""
    verdict = evaluate_json(all_blockers_case())
    assert blocker_codes(verdict) == ALL_CODES
    assert blocker_rules(verdict) == ALL_RULES
    assert verdict["automatic_allowed"] is False


def test_two_blockers_both_reported_R_ELIG_11():
    """R-ELIG-11: not only the first: R-ELIG-01 and R-ELIG-09 together."""
    verdict = evaluate_case(subscription={"assigned": 11},
                            tenant={"payment_method": "invoice", "unpaid_balance": "5.00"})
    assert blocker_codes(verdict) == ["USERS_EXCEED_LICENSES", "UNPAID_INVOICE_BALANCE"]


def test_check_returns_rows_in_rule_order_R_ELIG_11():
    """R-ELIG-11: ``check`` returns the table rows themselves, in order."""
    case = parse_case(all_blockers_case())
    subscription = case.tenant.subscription("s-1")
    catalog = case.catalog
    context = ChangeContext(case.tenant, subscription, catalog.plan("O365_G3"),
                            catalog.plan("O365_G1"), catalog)
    assert [rule.rule_id for rule in check(context)] == ALL_RULES
    assert check(context) == list(ELIGIBILITY_RULES)


# ------------------------------------------------------------------------ R-ELIG-12


def test_mca_checked_with_02_03_07_10_only_R_ELIG_12():
    """R-ELIG-12: an MCA account with every blocker holding gets 02, 03, 07, 10 only."""
    verdict = evaluate_json(all_blockers_case("MCA"))
    assert blocker_rules(verdict) == ["R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10"]
    assert blocker_codes(verdict) == ["NOT_PROVISIONED_OR_UNHEALTHY",
                                      "CHANGE_OR_CREDIT_CHECK_PENDING",
                                      "TARGET_NOT_SUPPORTED", "OTHER"]


@pytest.mark.parametrize(
    ("subscription", "tenant"),
    [
        ({"assigned": 11}, {}),  # R-ELIG-01
        ({"eligible_for_change": False}, {}),  # R-ELIG-04
        ({"add_ons": [{"sku": "EXCHANGE_ARCHIVING"}]}, {}),  # R-ELIG-08
        ({}, {"payment_method": "invoice", "unpaid_balance": "1.00"}),  # R-ELIG-09
    ],
    ids=["R-ELIG-01", "R-ELIG-04", "R-ELIG-08", "R-ELIG-09"],
)
def test_mosa_only_rules_do_not_block_mca_R_ELIG_12(subscription, tenant):
    """R-ELIG-12: the MOSA-only rows do not apply to MCA accounts."""
    verdict = evaluate_case(subscription=subscription,
                            tenant={"billing_account": "MCA", **tenant})
    assert_allowed(verdict)


def test_mca_duplicate_and_government_do_not_block_R_ELIG_12():
    """R-ELIG-12: R-ELIG-05 and R-ELIG-06 are not checked for MCA."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            subscription={"plan": "O365_G1"},
                            extra_subscriptions=[{"plan": "O365_G1"}],
                            request={"target_plan": "O365_G3"})
    assert_allowed(verdict)


def test_rule_set_for_R_ELIG_12():
    """R-ELIG-12: MOSA gets the whole table, MCA the four rows by default."""
    assert rule_set_for("MOSA") == ELIGIBILITY_RULES
    assert rule_set_for("MOSA", ["R-ELIG-02"]) == ELIGIBILITY_RULES
    assert [rule.rule_id for rule in rule_set_for("MCA")] == list(MCA_RULE_IDS)
    assert list(MCA_RULE_IDS) == ["R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10"]


def test_rule_set_for_custom_mca_subset_R_ELIG_12():
    """R-ELIG-12: a scenario may switch the MCA subset; rows stay in rule order."""
    rules = rule_set_for("MCA", ["R-ELIG-09", "R-ELIG-01"])
    assert [rule.rule_id for rule in rules] == ["R-ELIG-01", "R-ELIG-09"]

    case = parse_case(all_blockers_case("MCA"))
    catalog = case.catalog
    context = ChangeContext(case.tenant, case.tenant.subscription("s-1"),
                            catalog.plan("O365_G3"), catalog.plan("O365_G1"), catalog)
    assert [rule.code for rule in check(context, rules)] == [
        "USERS_EXCEED_LICENSES", "UNPAID_INVOICE_BALANCE"]
    # Without an explicit rule set, the MCA default applies.
    assert [rule.rule_id for rule in check(context)] == list(MCA_RULE_IDS)
    assert check(context, rule_set_for("MCA", [])) == []


def test_rule_set_for_unknown_rule_id_R_ELIG_12():
    """R-ELIG-12: an unknown rule ID in a custom subset is an error."""
    with pytest.raises(ValueError, match="R-ELIG-99"):
        rule_set_for("MCA", ["R-ELIG-02", "R-ELIG-99"])


def test_verdict_blockers_equal_check_rows_R_ELIG_12():
    """R-ELIG-12: ``evaluate`` uses the account's rule set (MCA subset for MCA)."""
    verdict = evaluate(parse_case(all_blockers_case("MCA")))
    assert [rule.rule_id for rule in verdict.blockers] == list(MCA_RULE_IDS)
    assert verdict.outcome is None


# ------------------------------------------------------------------------ R-ELIG-13


def target_ids(plan_id: str) -> set[str]:
    return {plan.id for plan in builtin_catalog().automatic_targets(plan_id)}


def test_business_basic_targets_R_ELIG_13():
    """R-ELIG-13 / NUMBERS.md: Business Basic -> Business Standard, O365 E1, E3, E5."""
    targets = target_ids("BUSINESS_BASIC")
    assert {"BUSINESS_STANDARD", "O365_E1", "O365_E3", "O365_E5"} <= targets
    # Downgrades of data services are not offered: Apps for business has no mailbox,
    # frontline plans have kiosk-level Exchange/SharePoint.
    assert "APPS_FOR_BUSINESS" not in targets
    assert "APPS_FOR_ENTERPRISE" not in targets
    assert "M365_F1" not in targets
    assert "M365_F3" not in targets
    assert "BUSINESS_BASIC" not in targets  # not the plan itself


def test_apps_for_business_targets_R_ELIG_13():
    """R-ELIG-13 / NUMBERS.md: Apps for business -> Business Premium, Apps for enterprise,
    Office 365 E3, E5."""
    targets = target_ids("APPS_FOR_BUSINESS")
    assert {"BUSINESS_PREMIUM", "APPS_FOR_ENTERPRISE", "O365_E3", "O365_E5"} <= targets
    assert "APPS_FOR_BUSINESS" not in targets


def test_business_standard_targets_R_ELIG_13():
    """R-ELIG-13 / NUMBERS.md: Business Standard -> Office 365 E3, E5."""
    targets = target_ids("BUSINESS_STANDARD")
    assert {"O365_E3", "O365_E5"} <= targets
    assert "APPS_FOR_BUSINESS" not in targets
    assert "M365_F3" not in targets


def test_enterprise_plan_targets_exclude_business_plans_R_ELIG_13():
    """R-ELIG-13: O365_E3 (exchange 3) is not offered plans with exchange 2."""
    targets = target_ids("O365_E3")
    assert {"O365_E5", "M365_E3", "M365_E5"} <= targets
    assert not targets & {"BUSINESS_BASIC", "BUSINESS_STANDARD", "BUSINESS_PREMIUM",
                          "O365_E1"}


def test_targets_are_the_catalog_filtered_by_R_ELIG_07_R_ELIG_13():
    """R-ELIG-13: a plan is a target exactly when R-ELIG-07 does not block the change.

    The reference reads the catalog data file itself with tomllib (not through
    sim.rules.catalog) and applies RULES.md R-ELIG-07 literally: every data service of
    the current plan must be in the target at the same or a higher level. The verdicts of
    `evaluate` must agree with it for every ordered pair of same-sector plans.
    """
    import tomllib
    from importlib import resources

    raw = tomllib.loads(resources.files("sim.rules").joinpath("data/catalog.toml")
                        .read_text("utf-8"))
    data_services = {name for name, service in raw["services"].items() if service["data"]}
    plans = raw["plans"]

    def allowed(current: str, target: str) -> bool:
        have, want = plans[current]["services"], plans[target]["services"]
        return all(want.get(name, 0) >= level for name, level in have.items()
                   if name in data_services)

    checked = 0
    for plan_id, plan in plans.items():
        targets = target_ids(plan_id)
        for other_id, other in plans.items():
            if other_id == plan_id or other["sector"] != plan["sector"]:
                assert other_id not in targets
                continue
            assert (other_id in targets) == allowed(plan_id, other_id), (plan_id, other_id)
            case = make_case(subscription={"plan": plan_id}, request={"target_plan": other_id})
            verdict = evaluate(parse_case(case))
            blocked_07 = any(rule.rule_id == "R-ELIG-07" for rule in verdict.blockers)
            assert blocked_07 == (not allowed(plan_id, other_id)), (plan_id, other_id)
            checked += 1
    assert checked > 100


def test_documented_upgrade_paths_are_offered_R_ELIG_13():
    """NUMBERS.md "Known upgrade paths": Business Basic -> Business Standard, Office 365
    E1, E3, E5; Business Standard -> Office 365 E3, E5; Apps for business -> Business
    Premium, Apps for enterprise, Office 365 E3, E5. Business Basic -> Apps for business
    is a downgrade of data services (no mailbox), so not offered."""
    assert {"BUSINESS_STANDARD", "O365_E1", "O365_E3", "O365_E5"} <= target_ids("BUSINESS_BASIC")
    assert {"O365_E3", "O365_E5"} <= target_ids("BUSINESS_STANDARD")
    assert {"BUSINESS_PREMIUM", "APPS_FOR_ENTERPRISE", "O365_E3", "O365_E5"} <= target_ids(
        "APPS_FOR_BUSINESS")
    assert "APPS_FOR_BUSINESS" not in target_ids("BUSINESS_BASIC")


def test_targets_same_sector_by_default_R_ELIG_13():
    """R-ELIG-13: government plans are offered government targets only (by default)."""
    catalog = builtin_catalog()
    assert {plan.sector for plan in catalog.automatic_targets("O365_G1")} == {"government"}
    wider = {plan.id for plan in catalog.automatic_targets("O365_G1", same_sector=False)}
    assert "O365_E1" in wider
