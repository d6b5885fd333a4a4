"""The gate policy: defaults, amounts, blocking rules, overrides and errors with key paths."""

from __future__ import annotations

import dataclasses

import pytest

from ci_gate.errors import ConfigError
from ci_gate.gate.overrides import merge_overrides, parse_value
from ci_gate.gate.policy import Policy, parse_policy
from ci_gate.gate.policy_reader import Amount


def test_defaults_when_the_section_is_absent() -> None:
    p = parse_policy(None)
    assert (p.alpha, p.min_cases, p.resamples, p.seed) == (0.05, 30, 2000, 0)
    rule = p.quality["quality.pass_rate"]
    assert rule.blocking and rule.max_drop == Amount(2.0, "pt", "2pt") and rule.min is None
    assert set(p.quality) == {"quality.pass_rate"}
    assert p.increases["latency.p50"].max_increase.text == "25%"
    assert not p.increases["latency.p95"].blocking
    assert p.increases["cost.per_case"].max_increase.value == 20.0
    assert "latency.p99" not in p.increases and "cost.total" not in p.increases
    assert p.error_budget == 0.10 and p.errors_blocking
    tag = p.rule_for("tag.anything")
    assert tag is not None and not tag.blocking and tag.max_drop is not None
    assert tag.max_drop.text == "5pt"
    assert p.rule_for("assertion.x") is None
    assert p == parse_policy({}) == Policy()


def test_amounts_points_relative_and_absolute() -> None:
    assert Amount(2.0, "pt", "2pt").absolute(0.9) == pytest.approx(0.02)
    assert Amount(10.0, "%", "10%").absolute(0.8) == pytest.approx(0.08)
    assert Amount(10.0, "%", "10%").absolute(None) is None
    assert Amount(0.03, "abs", "0.03").absolute(0.5) == 0.03
    assert Amount(80.0, "%", "80%").share() == 0.8
    assert Amount(0.8, "abs", "0.8").share() == 0.8


def test_a_full_section_is_read() -> None:
    p = parse_policy(
        {
            "alpha": 0.01,
            "min_cases": 50,
            "bootstrap": {"resamples": 500, "seed": 9},
            "quality": {
                "pass_rate": {"max_drop": "1.5pt", "min": "80%"},
                "score": {"max_drop": 0.03, "blocking": False},
                "assertions": {"valid-json": {"max_drop": "0pt"}},
                "tags": {"refunds": {"max_drop": "5pt"}, "safety": {"blocking": True}},
                "layers": {"format": {"max_drop": "3pt"}},
            },
            "latency": {"p95": {"max_increase": "25%"}, "p99": {"max_increase": 400}},
            "cost": {"total": {"max_increase": "10%"}, "budget_usd": 5},
            "errors": {"max_rate": "5%", "blocking": False},
            "tradeoffs": [
                {
                    "name": "pay-for-quality",
                    "allow": "cost.per_case",
                    "up_to": "20%",
                    "when": "quality.pass_rate",
                    "gains": "3pt",
                }
            ],
            "release": {"margin": "1pt", "alpha": 0.025},
            "exit_codes": {"inconclusive": 3},
        }
    )
    assert (p.alpha, p.min_cases, p.resamples, p.seed) == (0.01, 50, 500, 9)
    pr = p.quality["quality.pass_rate"]
    assert pr.blocking and pr.min is not None and pr.min.share() == 0.8
    assert not p.quality["quality.score"].blocking
    assert p.quality["assertion.valid-json"].blocking  # a written rule blocks
    assert not p.quality["tag.refunds"].blocking  # a tag warns unless it says otherwise
    safety = p.quality["tag.safety"]
    assert safety.blocking and safety.max_drop is not None and safety.max_drop.text == "5pt"
    assert p.quality["layer.format"].max_drop == Amount(3.0, "pt", "3pt")
    assert p.increases["latency.p95"].blocking  # written without blocking: blocks
    assert p.increases["latency.p99"].max_increase == Amount(400.0, "abs", "400")
    assert not p.increases["latency.p50"].blocking  # default kept beside written rules
    assert p.budget_usd == 5.0 and p.error_budget == 0.05 and not p.errors_blocking
    (t,) = p.tradeoffs
    assert (t.name, t.allow, t.when, t.up_to.text, t.gains.text) == (
        "pay-for-quality",
        "cost.per_case",
        "quality.pass_rate",
        "20%",
        "3pt",
    )
    assert p.release_margin == Amount(1.0, "pt", "1pt") and p.release_alpha == 0.025
    assert dict(p.exit_codes) == {"inconclusive": 3}


def test_policies_are_frozen_and_compare_by_content() -> None:
    p = parse_policy({"alpha": 0.01}, origin="base")
    q = parse_policy({"alpha": 0.01}, origin="head")
    assert p == q and p.origin != q.origin
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.alpha = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.quality["x"] = p.quality["quality.pass_rate"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"alpha": 0.7}, "gate.alpha: must be in (0, 0.5), got 0.7"),
        ({"alpha": "0.05"}, "gate.alpha: expected a number, got the string '0.05'"),
        ({"aplha": 0.05}, "gate.aplha: unknown key (did you mean 'alpha'?)"),
        ({"min_cases": 0}, "gate.min_cases: must be >= 1, got 0"),
        ({"min_cases": True}, "gate.min_cases: expected an integer, got a boolean"),
        ({"bootstrap": {"resamples": 10}}, "gate.bootstrap.resamples: must be >= 100, got 10"),
        (
            {"quality": {"pass_rate": {"max_drop": "two points"}}},
            "gate.quality.pass_rate.max_drop: 'two points' is not an amount",
        ),
        (
            {"quality": {"pass_rate": {"max_dorp": "2pt"}}},
            "gate.quality.pass_rate.max_dorp: unknown key (did you mean 'max_drop'?)",
        ),
        (
            {"quality": {"pass_rate": {"max_drop": "-2pt"}}},
            "gate.quality.pass_rate.max_drop: must not be negative, got -2pt",
        ),
        (
            {"quality": {"pass_rate": {"min": "120%"}}},
            "gate.quality.pass_rate.min: a floor on a rate must be at most 100%",
        ),
        (
            {"quality": {"layers": {"formats": {"max_drop": "1pt"}}}},
            "gate.quality.layers.formats: unknown key (did you mean 'format'?)",
        ),
        (
            {"latency": {"p95": {"max_increase": "20pt"}}},
            "gate.latency.p95.max_increase: points (pt) apply to rates and scores",
        ),
        ({"cost": {"budget_usd": -1}}, "gate.cost.budget_usd: must be in [0, inf), got -1"),
        ({"errors": {"max_rate": 1.5}}, "gate.errors.max_rate: an error rate is at most 100%"),
        ({"tradeoffs": {"allow": "x"}}, "gate.tradeoffs: expected a list of rules, got a mapping"),
        (
            {
                "tradeoffs": [
                    {"allow": "cost.per_case", "up_to": "20%", "when": "quality.pass_rate"}
                ]
            },
            "gate.tradeoffs[0].gains: is required",
        ),
        (
            {
                "tradeoffs": [
                    {"allow": "latency.p99", "up_to": "1%", "when": "quality.pass_rate", "gains": 1}
                ]
            },
            "gate.tradeoffs[0].allow: must be one of",
        ),
        ({"exit_codes": {"pass": 256}}, "gate.exit_codes.pass: must be between 0 and 255, got 256"),
        (
            {"exit_codes": {"passed": 0}},
            "gate.exit_codes.passed: unknown key (did you mean 'pass'?)",
        ),
        ({"quality": ["pass_rate"]}, "gate.quality: expected a mapping, got a list"),
    ],
)
def test_nonsense_is_a_config_error_with_the_key_path(section: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(section)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_the_whole_section_must_be_a_mapping_and_errors_name_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^gate: expected a mapping, got a list$"):
        parse_policy([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^base\.json: gate\.alpha: "):
        parse_policy({"alpha": 2}, where="base.json: gate")


def test_overrides_are_merged_on_top_and_parsed() -> None:
    section = {"quality": {"pass_rate": {"max_drop": "3pt", "min": "80%"}}}
    p = parse_policy(
        section,
        overrides={
            "quality.pass_rate.max_drop": "1pt",
            "alpha": "0.01",
            "gate.min_cases": "10",
            "latency.p95.blocking": "true",
            "quality.tags.v1.2.max_drop": "4pt",  # a tag with a dot in its name
        },
    )
    pr = p.quality["quality.pass_rate"]
    assert pr.max_drop is not None and pr.max_drop.text == "1pt" and pr.min is not None
    assert (p.alpha, p.min_cases) == (0.01, 10)
    assert p.increases["latency.p95"].blocking
    assert "tag.v1.2" in p.quality
    assert section == {"quality": {"pass_rate": {"max_drop": "3pt", "min": "80%"}}}
    assert p.section is section and p.overrides["alpha"] == "0.01"


def test_bad_overrides_say_they_came_from_the_command_line() -> None:
    with pytest.raises(ConfigError, match=r"gate\.alpha: must be in .*\(set on the command line\)"):
        parse_policy({}, overrides={"alpha": "0.9"})
    with pytest.raises(ConfigError, match=r"unknown key \(did you mean 'alpha'\?\)"):
        parse_policy({}, overrides={"alhpa": "0.9"})
    with pytest.raises(ConfigError, match="trade-offs cannot be set on the command line"):
        parse_policy({}, overrides={"tradeoffs.0.allow": "cost.total"})
    with pytest.raises(ConfigError, match=r"gate\.alpha is a value, not a section"):
        parse_policy({"alpha": 0.05}, overrides={"alpha.x": "1"})
    with pytest.raises(ConfigError, match="not a dotted key"):
        parse_policy({}, overrides={"quality..max_drop": "1pt"})


def test_values_from_the_command_line() -> None:
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("30") == 30 and parse_value("0.01") == 0.01
    assert parse_value(" 2pt ") == "2pt"
    merged, paths = merge_overrides({"a": {"b": 1}}, {"a.c": "x"})
    assert merged == {"a": {"b": 1, "c": "x"}} and paths == frozenset({"a.c"})


def test_odd_keys_cannot_break_the_one_line_message() -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy({"quality": {"pass_rate": {"max_drop\n::error::x": 1}}})
    assert "\n" not in str(info.value) and "max_drop?::error::x: unknown key" in str(info.value)
