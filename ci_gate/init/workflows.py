"""The two GitHub workflow files ``ci-gate init`` writes: the pull-request gate and the baseline
refresh on pushes to the default branch (as examples/workflows/ and docs/action.md show them).

A model target's key comes from a repository secret of the same name, and its host is listed in
``allowed-hosts``, the only hosts the action lets receive a key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ci_gate.init.answers import DEFAULT_BASE_URL, DEFAULT_KEY_ENV, MODEL_KINDS
from ci_gate.init.yaml_text import scalar

PR_WORKFLOW = ".github/workflows/ci-gate-pr.yml"
BASELINE_WORKFLOW = ".github/workflows/ci-gate-baseline.yml"
ACTION = "ci-gate/ci-gate@v0"


@dataclass(frozen=True)
class KeyUse:
    """An environment variable holding an API key, and the hosts the suite sends it to."""

    env: str
    hosts: tuple[str, ...]


def _host(kind: str, base_url: str | None) -> str:
    url = urlsplit(base_url or DEFAULT_BASE_URL[kind])
    host = url.hostname or ""
    try:
        port = url.port
    except ValueError:  # an invalid port: the suite's own check reports it
        port = None
    # A port other than the scheme's own must be listed with the host (docs/action.md).
    if port is not None and port != (443 if url.scheme == "https" else 80):
        host = f"{host}:{port}"
    return host


def key_uses(targets: Sequence[Mapping[str, Any]]) -> tuple[KeyUse, ...]:
    """The keys a suite's raw ``targets`` list reads, each variable once (a judge may share one).

    Only model targets send a key: ``python`` and ``command`` targets run in the job with its
    environment, and ``http`` targets name their variables in templates the user wrote.
    """
    hosts: dict[str, list[str]] = {}
    for raw in targets:
        kind = raw.get("provider")
        if kind not in MODEL_KINDS:
            continue
        base_url, env = raw.get("base_url"), raw.get("api_key_env")
        host = _host(kind, base_url if isinstance(base_url, str) else None)
        found = hosts.setdefault(env if isinstance(env, str) else DEFAULT_KEY_ENV[kind], [])
        if host not in found:
            found.append(host)
    return tuple(KeyUse(env, tuple(h)) for env, h in hosts.items())


def _action_step(suite: str, keys: Sequence[KeyUse], mode: str) -> str:
    lines = [
        "      - uses: actions/checkout@v4",
        "        with:",
        "          fetch-depth: 0 # the full history, to find the merge-base and walk back from it",
        f"      - uses: {ACTION}",
        "        with:",
        f"          suite: {scalar(suite)}",
        f"          mode: {mode}",
    ]
    if keys:
        hosts = ",".join(dict.fromkeys(h for k in keys for h in k.hosts))
        lines += [
            "          # The only hosts that may receive the key; a pull request cannot add one.",
            f"          allowed-hosts: {scalar(hosts)}",
            "        env:",
        ]
        lines += [f"          {k.env}: ${{{{ secrets.{k.env} }}}}" for k in keys]
    return "\n".join(lines) + "\n"


def pr_workflow(suite: str, keys: Sequence[KeyUse]) -> str:
    return (
        "# Gate every pull request on the eval suite: run it, compare with the baseline of the\n"
        "# pull request's merge-base, and keep one comment up to date. ci-gate-baseline.yml\n"
        "# stores the baselines this compares with.\n"
        "name: ci-gate\n"
        "\n"
        "on:\n"
        "  pull_request:\n"
        "\n"
        "permissions:\n"
        "  contents: read # check out the code and read the baseline branch\n"
        "  pull-requests: write # post and update the comment\n"
        "\n"
        "concurrency:\n"
        "  # A new push supersedes the run of the previous one.\n"
        "  group: ci-gate-${{ github.event.pull_request.number }}\n"
        "  cancel-in-progress: true\n"
        "\n"
        "jobs:\n"
        "  eval:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n" + _action_step(suite, keys, "pr") + _UPLOAD
    )


# As examples/workflows/pr-gate.yml: the reports of every run, kept with the workflow run.
_UPLOAD = """\
      - name: Upload the reports (open report.html in the artifact)
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: ci-gate-report
          path: ci-gate-out # the action's output-dir
"""


def baseline_workflow(suite: str, keys: Sequence[KeyUse], branch: str) -> str:
    return (
        f"# After every merge to {branch}, run the suite and store its results as the baseline of\n"
        "# that commit, on the ci-gate-baselines data branch. Pull requests compare with the\n"
        "# nearest one at or before their merge-base.\n"
        "name: ci-gate baseline\n"
        "\n"
        "on:\n"
        "  push:\n"
        f"    branches: [{scalar(branch)}]\n"
        "\n"
        "permissions:\n"
        "  contents: write # push the new baseline to the data branch\n"
        "\n"
        "concurrency:\n"
        "  # Baselines of successive merges must not be cancelled; they queue instead.\n"
        "  group: ci-gate-baseline\n"
        "  cancel-in-progress: false\n"
        "\n"
        "jobs:\n"
        "  refresh:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n" + _action_step(suite, keys, "refresh")
    )
