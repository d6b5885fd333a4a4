"""Scorer functions used by tests/test_assertions_custom.py (imported from this folder)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

# What each call saw, for the tests to inspect: (output, context, thread name).
SEEN: list[tuple[str, dict[str, Any], str]] = []

NOT_CALLABLE = 42


def answer_from_config(output: str, context: dict[str, Any]) -> Any:
    """Returns whatever the assertion's config says, so one function covers every shape."""
    SEEN.append((output, context, threading.current_thread().name))
    context["vars"]["mutated"] = True  # must not leak into the case
    return context["config"]["answer"]


def mentions_refund(output: str, context: dict[str, Any]) -> bool:
    return "refund" in output.lower()


async def async_score(output: str, context: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"score": 0.9, "message": f"async saw {output}"}


def returns_awaitable(output: str, context: dict[str, Any]) -> Any:
    return async_score(output, context)


def raises(output: str, context: dict[str, Any]) -> bool:
    raise ValueError(f"cannot score {output!r} with key {context['config']}")


def exits(output: str, context: dict[str, Any]) -> bool:
    raise SystemExit(2)
