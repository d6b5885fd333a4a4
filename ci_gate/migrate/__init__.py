"""Converting other tools' eval configs into ci-gate suites (``ci-gate init --from-promptfoo``)."""

from __future__ import annotations

from ci_gate.migrate.promptfoo import Conversion, convert_promptfoo
from ci_gate.migrate.promptfoo_source import PromptfooError, Unconverted

__all__ = ["Conversion", "PromptfooError", "Unconverted", "convert_promptfoo"]
