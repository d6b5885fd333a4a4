"""A small, deterministic travel-and-orders agent: the "application" this example evaluates.

It stands in for a team's tool-using, retrieval-augmented LLM app so that the example runs
offline. For each question it decides which tools to call (as a model would, with arguments) and
which help-center documents to retrieve, and returns them beside its answer:

    {"output": "...", "tool_calls": [{"name": ..., "arguments": {...}}], "context": [...]}

ci-gate's tool assertions read ``tool_calls`` and its retrieval assertions read ``context``.
``params.mode`` switches on the mistakes a regressed version would make, for the demo.
"""

from __future__ import annotations

import re
from typing import Any

DOCS: dict[str, dict[str, Any]] = {
    "refund-policy": {
        "keywords": ["refund", "money back"],
        "text": "Refunds are paid within 5 business days of approval.",
    },
    "refund-digital": {
        "keywords": ["digital", "ebook"],
        "text": "Digital goods cannot be refunded once downloaded.",
    },
    "shipping-times": {
        "keywords": ["shipping", "deliver", "arrive"],
        "text": "Standard shipping takes 3 to 5 business days.",
    },
    "baggage-rules": {
        "keywords": ["baggage", "luggage", "bag"],
        "text": "One cabin bag of up to 8 kg is included.",
    },
}


def _retrieve(question: str, sloppy: bool) -> list[dict[str, Any]]:
    words = question.lower()
    hits = [
        {"id": doc_id, "text": doc["text"]}
        for doc_id, doc in DOCS.items()
        if any(k in words for k in doc["keywords"])
    ]
    if sloppy:  # a regressed retriever pads its results with whatever comes first
        hits += [
            {"id": d, "text": DOCS[d]["text"]} for d in DOCS if d not in {h["id"] for h in hits}
        ]
    return hits


def _tools(question: str, careless: bool) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    weather = re.search(r"weather in ([A-Z][a-z]+)", question)
    if weather:
        units = "f" if "fahrenheit" in question.lower() else "c"
        args: dict[str, Any] = {"city": weather.group(1), "units": units}
        if careless:
            args = {"town": weather.group(1)}
        calls.append({"name": "get_weather", "arguments": args})
    order = re.search(r"order #?(\d+)", question)
    if order:
        lookup = {"name": "lookup_order", "arguments": {"order_id": order.group(1)}}
        if "refund" in question.lower():
            refund = {
                "name": "issue_refund",
                "arguments": {"order_id": order.group(1), "reason": "customer request"},
            }
            calls += [refund, lookup] if careless else [lookup, refund]
        else:
            calls.append(lookup)
    return calls


def answer(request: dict[str, Any]) -> dict[str, Any]:
    question = str(request["vars"]["question"])
    mode = request["params"].get("mode", "good")
    calls = _tools(question, careless=mode == "regressed")
    context = _retrieve(question, sloppy=mode == "regressed")
    if calls:
        output = "Let me check that for you."
    elif context:
        output = " ".join(doc["text"] for doc in context[:1])
    else:
        output = "I can help with weather, orders, refunds, shipping and baggage."
    return {"output": output, "tool_calls": calls, "context": context}
