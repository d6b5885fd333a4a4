"""Suite files: loading, validation, templates and fingerprints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ci_gate.suite.load import load_suite

__all__ = ["load_suite"]


def __getattr__(name: str) -> Any:
    # Imported lazily: ``ci_gate.suite.model`` is imported by nearly every module, and loading
    # suites pulls in yaml, jsonschema and the assertion registry.
    if name == "load_suite":
        from ci_gate.suite.load import load_suite

        return load_suite
    raise AttributeError(name)
