"""Which stored baseline a run is compared with (and reuses responses from), per job.

* ``pr``, ``drift``, ``refresh``, ``publish``: the nearest baseline at or before the merge-base
  of the commit under test with the branch it merges into, walking first-parent history.
* ``release``: the newest baseline stored for another release tag; when none exists yet, the
  default branch's baseline at the merge-base, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_gate.baseline.git import git_text, is_commit
from ci_gate.baseline.merge_base import find_baseline_commit
from ci_gate.baseline.store import BaselineStore, NoBaselineError
from ci_gate.report.sanitize import inline
from ci_gate.results.model import Results


@dataclass(frozen=True)
class BaselinePick:
    results: Results
    commit: str
    description: str  # safe markdown: "abc1234 (the merge-base, 3 days old)"


@dataclass(frozen=True)
class NoBaseline:
    reason: str  # plain text, one line


def head_commit(workspace: Path, candidates: tuple[str | None, ...]) -> str:
    """The first candidate commit present in the checkout, else ``HEAD``'s sha."""
    for sha in candidates:
        if sha and is_commit(sha, workspace):
            return sha
    return git_text(["rev-parse", "HEAD"], workspace)


def at_merge_base(
    store: BaselineStore, slug: str, workspace: Path, head: str, branch: str
) -> BaselinePick | NoBaseline:
    """The baseline at or before the merge-base of ``head`` with ``origin/<branch>``."""
    try:
        match = find_baseline_commit(workspace, head, branch, store.commits(slug))
    except NoBaselineError as error:
        return NoBaseline(str(error))
    results = store.get(slug, match.commit)
    if results is None:  # removed between listing and reading: a concurrent prune
        return NoBaseline(f"the baseline of {match.commit[:12]} vanished while being read")
    return BaselinePick(results, match.commit, inline(match.describe(), 200))


def last_release(
    store: BaselineStore, slug: str, workspace: Path, head: str, branch: str, tag: str
) -> BaselinePick | NoBaseline:
    """The newest release baseline of another tag than ``tag``; else the merge-base's."""
    releases = [e for e in store.history(slug, 1000) if e.tag and e.tag != tag]
    for entry in releases:
        results = store.get(slug, entry.commit)
        if results is not None:
            what = f"{entry.commit[:7]} (release {entry.tag}, stored {entry.created_at[:10]})"
            return BaselinePick(results, entry.commit, inline(what, 200))
    found = at_merge_base(store, slug, workspace, head, branch)
    if isinstance(found, BaselinePick):
        note = (
            f"{found.description}, on {inline(branch, 60)}: no earlier release has a baseline yet"
        )
        return BaselinePick(found.results, found.commit, note)
    return NoBaseline(f"no earlier release has a baseline, and {found.reason}")
