"""The pinned price table (shipped as data with its date) and cost per call from usage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

from ci_gate.suite.model import Price, PriceTable


def default_table() -> PriceTable:
    data = json.loads(resources.files("ci_gate.pricing").joinpath("prices.json").read_text("utf-8"))
    prices = {
        model: Price(float(p["input"]), float(p["output"])) for model, p in data["prices"].items()
    }
    return PriceTable(MappingProxyType(prices), data["date"], data["source"])


def with_overrides(
    table: PriceTable, overrides: Mapping[str, Price], suite_path: str
) -> PriceTable:
    """The table with the suite's own prices laid over it; the source says the suite changed it."""
    if not overrides:
        return table
    merged = dict(table.prices)
    merged.update(overrides)
    return PriceTable(
        MappingProxyType(merged), table.date, f"{table.source}; overridden by {suite_path}"
    )


def lookup(table: PriceTable, model: str | None) -> Price | None:
    """The price of ``model``; a dated snapshot (``gpt-4o-2024-08-06``) falls back to its family."""
    if model is None:
        return None
    if model in table.prices:
        return table.prices[model]
    best: str | None = None
    for name in table.prices:
        if model.startswith(name + "-") and (best is None or len(name) > len(best)):
            best = name
    return table.prices[best] if best else None


def cost_usd(
    table: PriceTable, model: str | None, input_tokens: int | None, output_tokens: int | None
) -> float | None:
    """Dollars for one call at list price, or None when the model or its usage is unknown."""
    price = lookup(table, model)
    if price is None or input_tokens is None or output_tokens is None:
        return None
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
