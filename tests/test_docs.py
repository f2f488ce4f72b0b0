"""The documentation shipped in the repository (issue 7, part 5).

``docs/parameters.md`` is generated from the scenario dataclasses and must be up to date
(regenerate: ``.venv/bin/python run_sim.py params --markdown > docs/parameters.md``);
``planshift params`` prints the same keys; ``docs/rules.md`` states every rule ID the code
cites (R-PATH, R-ELIG, R-AUTO, R-BILL, R-MAN, P-*, INV-*); the README points to ``docs/``
and not to a spec folder outside the repository.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from sim.cli.params import markdown
from sim.fleet.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULE_ID = re.compile(r"\b(?:R-[A-Z]+-\d{2}|INV-\d{2}|P-[A-Z]+-\d{2})\b")


def _leaf_keys(value: object, prefix: str = "") -> set[str]:
    """Every key path of a scenario, walked over the dataclass fields themselves (not by
    the generator): sections and tables of sections recurse, anything else is a key."""
    if dataclasses.is_dataclass(value):
        keys: set[str] = set()
        for spec in dataclasses.fields(value):
            keys |= _leaf_keys(getattr(value, spec.name), f"{prefix}{spec.name}.")
        return keys
    if isinstance(value, dict) and value and all(dataclasses.is_dataclass(v)
                                                 for v in value.values()):
        return {k for name, item in value.items() for k in _leaf_keys(item, f"{prefix}{name}.")}
    return {prefix.rstrip(".")}


def test_parameters_md_is_up_to_date():
    """docs/parameters.md equals what `planshift params --markdown` generates now."""
    assert (DOCS / "parameters.md").read_text(encoding="utf-8") == markdown(), (
        "docs/parameters.md is stale: run "
        "`.venv/bin/python run_sim.py params --markdown > docs/parameters.md`")


def test_parameters_md_lists_every_scenario_key_with_a_range():
    """Every key of the default scenario appears in docs/parameters.md, and every row
    states a range with both bounds (issue 7: every parameter carries lo and hi)."""
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {line.split("`")[1] for line in rows}
    expected = _leaf_keys(Scenario())
    assert len(expected) > 150
    missing = {key for key in expected if key not in documented}
    assert not missing, sorted(missing)
    unbounded = [line for line in rows if re.search(r"\| (each )?- \.\.|\.\. - ", line)]
    assert not unbounded, unbounded
    assert "`billing.mca_full_refund_days` | integer | `1` | 0 .. 60 | doc" in text


def test_params_command_prints_the_same_keys(capsys):
    """`planshift params` lists the same keys, in the same order, as the Markdown."""
    from sim.cli import main

    assert main(["params"]) == 0
    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    rows = [line.split("`")[1] for line in markdown().splitlines() if line.startswith("| `")]
    assert printed == rows
    assert "population.users_median" in printed and "run.tenants" in printed


def test_rules_md_states_every_rule_id_the_code_cites():
    """Every rule ID cited in sim/ is stated (in bold, as a heading of its rule or a row
    of the blocker table) in docs/rules.md, and the P-TIME amendment is there."""
    cited = set()
    for path in (ROOT / "sim").rglob("*.py"):
        cited |= set(RULE_ID.findall(path.read_text(encoding="utf-8")))
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    stated = set(re.findall(r"\*\*([A-Z]+-(?:[A-Z]+-)?\d{2})\*\*", text))
    stated |= set(re.findall(r"^\| (R-ELIG-\d{2}) \|", text, flags=re.MULTILINE))
    assert len(cited) >= 60, sorted(cited)
    assert not cited - stated, sorted(cited - stated)
    flat = " ".join(text.split())
    assert "from day D+1 of the previous month through day D" in flat  # P-TIME-01 (2026-11-30)
    assert "closing invoice dated the day after the change" in flat  # P-TIME-02


def test_readme_points_to_docs_not_outside_the_repository():
    """The README links docs/, never ../shared/spec, and its two first commands are the
    setup-and-run and setup-and-test lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in text
    assert "docs/rules.md" in text and "docs/parameters.md" in text
    commands = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL).group(1).splitlines()
    assert commands[0] == ("python3 -m venv .venv && .venv/bin/pip install -q -e . && "
                           ".venv/bin/python run_sim.py")
    assert commands[1].endswith(".venv/bin/python -m pytest")
    assert "python run_sim.py" not in text.replace(".venv/bin/python run_sim.py", "")
