"""The results under test: a run of the suite here, or the files in the ``results-from`` folder.

Files in ``results-from`` come from another job: shards of this workflow, or a fork's pull
request in the fork-safe pair. They are data, never code: each is parsed by the strict results
decoder, only those of this suite are taken, and several are joined only as the shards of one run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from ci_gate.errors import ResultsFileError, UsageError
from ci_gate.providers.http_client import tls_context_soon
from ci_gate.results.merge import merge_results
from ci_gate.results.model import Results
from ci_gate.results.store import read_results, write_results
from ci_gate.run.runner import RunOptions, run_suite
from ci_gate.run.shard import Shard
from ci_gate.suite.model import Suite

MAX_FILES = 256
MAX_TOTAL_BYTES = 1024**3


def provider_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment the suite's targets see: without the Action's inputs.

    The runner passes every input, the GitHub token included, as ``INPUT_*``; the team's code
    under test has no business with them.
    """
    return {k: v for k, v in env.items() if not k.upper().startswith("INPUT_")}


def run_here(
    suite: Suite,
    output: Path,
    env: Mapping[str, str],
    *,
    cache_dir: Path,
    fresh: bool,
    reuse_from: Results | None,
    shard: Shard | None,
) -> Results:
    options = RunOptions(
        output=output,
        use_cache=not fresh,
        cache_dir=cache_dir,
        progress=True,
        tls=tls_context_soon(),
        reuse_from=None if fresh else reuse_from,
        shard=shard,
    )
    return asyncio.run(run_suite(suite, options, provider_env(env)))


def _candidates(folder: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if name.endswith(".json") and path.is_file() and not path.is_symlink():
                files.append(path)
    if len(files) > MAX_FILES:
        raise UsageError(
            f"results-from {folder}: {len(files)} JSON files, more than {MAX_FILES}; "
            "download only the results artifacts there"
        )
    total = sum(f.stat().st_size for f in files)
    if total > MAX_TOTAL_BYTES:
        raise UsageError(f"results-from {folder}: {total:,} bytes of JSON, more than 1 GiB")
    return files


def _looks_like_results(path: Path) -> bool:
    # A cheap sniff of the first bytes: artifacts may hold other JSON (reports, indexes).
    with path.open("rb") as handle:
        start = handle.read(512)
    return b'"format"' in start and b"ci-gate-results" in start


def collect(folder: Path, suite_name: str, output: Path) -> Results:
    """This suite's results in ``folder`` (joined if sharded), also written to ``output``."""
    if not folder.is_dir():
        raise UsageError(
            f"results-from {folder}: no such folder (download the results artifact there first)"
        )
    parts: list[tuple[str, Results]] = []
    others: set[str] = set()
    for path in _candidates(folder):
        if not _looks_like_results(path):
            continue
        results = read_results(path)
        if results.run.suite_name == suite_name:
            parts.append((str(path), results))
        else:
            others.add(results.run.suite_name[:60])
    if not parts:
        found = f" (found results of: {', '.join(sorted(others)[:5])})" if others else ""
        raise ResultsFileError(
            f"results-from {folder}: no results of suite {suite_name[:80]!r}{found}"
        )
    merged = merge_results(parts)
    write_results(merged, output)
    return merged
