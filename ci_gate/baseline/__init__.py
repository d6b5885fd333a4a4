"""Baselines: results of runs on the default branch, stored per suite and commit.

Stores: ``FileStore`` (``file:PATH``), ``BranchStore`` (``branch``: a data branch pushed to
origin) and ``ArtifactStore`` (``artifact``: read from Actions artifacts). ``find_baseline_commit``
picks the baseline a pull request is compared with.
"""

from __future__ import annotations

from ci_gate.baseline.index import IndexEntry
from ci_gate.baseline.store import (
    BaselineError,
    BaselineStore,
    NoBaselineError,
    suite_slug,
)

__all__ = ["BaselineError", "BaselineStore", "IndexEntry", "NoBaselineError", "suite_slug"]
