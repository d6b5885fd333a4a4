"""Which baseline a pull request is compared with: the nearest one at or before its merge-base.

The merge-base with the default branch is where the PR's changes start; walking back its
first-parent history (the default branch's own line of merges) finds the most recent commit whose
run was stored, skipping merges whose baseline job failed or was skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ci_gate.baseline.git import GitError, git_text, is_commit
from ci_gate.baseline.store import BaselineError, NoBaselineError

DEFAULT_MAX_BACK = 50
_SHALLOW_HINT = "set `fetch-depth: 0` on actions/checkout so the history is there"


@dataclass(frozen=True)
class BaselineMatch:
    commit: str  # the commit whose baseline is used
    merge_base: str
    commits_back: int  # 0: the merge-base itself
    committed_at: datetime
    age: timedelta  # how long before ``now`` that commit was made

    def describe(self) -> str:
        """E.g. ``abc1234 (the merge-base, 3 days old)`` or ``abc1234 (2 commits before ...)``."""
        days = self.age.total_seconds() / 86400
        old = f"{days:.0f} days old" if days >= 2 else f"{self.age.total_seconds() / 3600:.0f}h old"
        if self.commits_back == 0:
            where = "the merge-base"
        else:
            plural = "s" if self.commits_back != 1 else ""
            where = f"{self.commits_back} commit{plural} before merge-base {self.merge_base[:7]}"
        return f"{self.commit[:7]} ({where}, {old})"


def _is_shallow(repo: Path) -> bool:
    return git_text(["rev-parse", "--is-shallow-repository"], repo) == "true"


def find_baseline_commit(
    repo: str | os.PathLike[str],
    head: str,
    default_branch: str,
    has_baseline: Container[str] | Callable[[str], bool],
    *,
    remote: str = "origin",
    max_back: int = DEFAULT_MAX_BACK,
    now: datetime | None = None,
) -> BaselineMatch:
    """The nearest commit at or before ``merge-base(head, <remote>/<default_branch>)`` on the
    first-parent line that ``has_baseline`` (a set of commits, e.g. ``store.commits(suite)``,
    or a predicate), looking at most ``max_back`` commits; ``NoBaselineError`` if none."""
    where = Path(repo)
    base_ref = f"refs/remotes/{remote}/{default_branch}"
    shallow = _is_shallow(where)
    if not is_commit(head, where):
        raise BaselineError(
            f"{where}: head commit {head[:12]} is not in the checkout"
            + (f" (the clone is shallow: {_SHALLOW_HINT})" if shallow else "")
        )
    if not is_commit(base_ref, where):
        raise BaselineError(
            f"{where}: {remote}/{default_branch} is not fetched, so the merge-base cannot be "
            f"found ({_SHALLOW_HINT})"
        )
    try:
        merge_base = git_text(["merge-base", head, base_ref], where)
    except GitError:  # no common ancestor: exit 1 and no output
        merge_base = ""
    if not merge_base:
        hint = _SHALLOW_HINT if shallow else f"the branch shares no history with {default_branch}"
        raise BaselineError(
            f"{where}: no merge-base of {head[:12]} and {remote}/{default_branch} ({hint})"
        )
    listing = git_text(
        [
            "rev-list",
            "--first-parent",
            "--timestamp",
            f"--max-count={max(max_back, 1)}",
            merge_base,
        ],
        where,
    )
    found = has_baseline if callable(has_baseline) else has_baseline.__contains__
    walked = 0
    for back, line in enumerate(listing.splitlines()):
        stamp, _, commit = line.partition(" ")
        walked = back + 1
        if found(commit):
            committed_at = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
            return BaselineMatch(
                commit=commit,
                merge_base=merge_base,
                commits_back=back,
                committed_at=committed_at,
                age=(now or datetime.now(timezone.utc)) - committed_at,
            )
    cut = f"; the clone is shallow, {_SHALLOW_HINT}" if shallow and walked < max_back else ""
    raise NoBaselineError(
        f"no baseline found in the {walked} first-parent commits from merge-base "
        f"{merge_base[:12]} of {default_branch} (store one by running ci-gate on a push to "
        f"{default_branch}{cut})"
    )
