from __future__ import annotations

import json
from importlib import resources

import pytest

from ci_gate.pricing.table import cost_usd, default_table, lookup, with_overrides
from ci_gate.suite.model import Price


def test_default_table_loads_with_its_date_and_source() -> None:
    table = default_table()
    raw = json.loads(resources.files("ci_gate.pricing").joinpath("prices.json").read_text("utf-8"))
    assert table.date == raw["date"]
    assert table.source == raw["source"]
    assert set(table.prices) == set(raw["prices"])
    assert table.prices["gpt-4o"] == Price(2.5, 10.0)
    assert table.prices["fake-model"] == Price(1.0, 2.0)
    assert all(p.input_per_mtok >= 0 and p.output_per_mtok >= 0 for p in table.prices.values())


def test_default_table_is_read_only() -> None:
    table = default_table()
    with pytest.raises(TypeError):
        table.prices["gpt-4o"] = Price(0.0, 0.0)  # type: ignore[index]


def test_exact_lookup() -> None:
    table = default_table()
    assert lookup(table, "gpt-4o-mini") == Price(0.15, 0.6)
    assert lookup(table, "claude-3-5-haiku-latest") == Price(0.8, 4.0)


def test_dated_snapshot_falls_back_to_its_family() -> None:
    table = default_table()
    assert lookup(table, "gpt-4o-2024-08-06") == table.prices["gpt-4o"]
    # The longest matching family wins: a gpt-4o-mini snapshot is not priced as gpt-4o.
    assert lookup(table, "gpt-4o-mini-2024-07-18") == table.prices["gpt-4o-mini"]
    assert lookup(table, "gpt-4o-mini-2024") == table.prices["gpt-4o-mini"]
    assert lookup(table, "gpt-4.1-nano-2025-04-14") == table.prices["gpt-4.1-nano"]


def test_unknown_model_has_no_price() -> None:
    table = default_table()
    assert lookup(table, "my-secret-model") is None
    assert lookup(table, None) is None
    # A prefix without the "-" separator is another model, not a snapshot.
    assert lookup(table, "gpt-4omni") is None
    assert lookup(table, "GPT-4O") is None


def test_overrides_replace_and_add_and_say_so() -> None:
    table = default_table()
    merged = with_overrides(
        table, {"gpt-4o": Price(1.0, 1.0), "my-finetune": Price(0.3, 1.2)}, "suite.yaml"
    )
    assert merged.prices["gpt-4o"] == Price(1.0, 1.0)
    assert merged.prices["my-finetune"] == Price(0.3, 1.2)
    assert merged.prices["gpt-4o-mini"] == table.prices["gpt-4o-mini"]
    assert merged.date == table.date
    assert merged.source.endswith("overridden by suite.yaml")
    # The shipped table is untouched, and a snapshot follows the overridden family.
    assert table.prices["gpt-4o"] == Price(2.5, 10.0)
    assert lookup(merged, "gpt-4o-2024-08-06") == Price(1.0, 1.0)


def test_no_overrides_returns_the_same_table() -> None:
    table = default_table()
    assert with_overrides(table, {}, "suite.yaml") is table


def test_cost_math() -> None:
    table = default_table()
    # 1M input at $2.50 + 0.5M output at $10.00
    assert cost_usd(table, "gpt-4o", 1_000_000, 500_000) == pytest.approx(7.5)
    assert cost_usd(table, "gpt-4o-mini", 1200, 300) == pytest.approx(
        (1200 * 0.15 + 300 * 0.6) / 1e6
    )
    assert cost_usd(table, "gpt-4o-2024-08-06", 1000, 0) == pytest.approx(0.0025)
    assert cost_usd(table, "fake-model", 0, 0) == 0.0


def test_cost_unknown_when_model_or_usage_is_unknown() -> None:
    table = default_table()
    assert cost_usd(table, "unknown-model", 10, 10) is None
    assert cost_usd(table, None, 10, 10) is None
    assert cost_usd(table, "gpt-4o", None, 10) is None
    assert cost_usd(table, "gpt-4o", 10, None) is None
