# The ci-gate GitHub Action: `ci-gate action` reads INPUT_* and GITHUB_* from the runner.
# The base is a build argument so the same file builds on GitHub (the real slim image) and on
# machines with no registry (a locally imported Debian image that already has git and wheels).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# git is needed for the baseline branch store and the merge-base walk. A base that already has it
# (the offline test image) skips apt, which would need the network.
# Debian moves package versions within a release, so a pinned version would soon stop installing.
# hadolint ignore=DL3008
RUN command -v git >/dev/null \
    || { apt-get update \
        && apt-get install -y --no-install-recommends git \
        && rm -rf /var/lib/apt/lists/*; }

# Only what the package build needs, so edits to tests or docs do not invalidate this layer.
COPY pyproject.toml README.md /tmp/ci-gate/
COPY ci_gate /tmp/ci-gate/ci_gate
# In the same layer as the install, or it would not make the image smaller: the dependencies'
# own test suites (numpy's are 17 MB) and type stubs are never run or imported by ci-gate.
# Bytecode stays: each job starts a fresh container, which would otherwise compile every module
# on every start.
RUN python3 -m pip install --no-cache-dir /tmp/ci-gate \
    && rm -rf /tmp/ci-gate \
    && site="$(python3 -c 'import os, numpy; print(os.path.dirname(os.path.dirname(numpy.__file__)))')" \
    && find "$site/numpy" "$site/jsonschema" -depth -type d -name tests -exec rm -rf {} + \
    && find "$site" -name '*.pyi' -delete

# No WORKDIR or USER: the runner mounts the workspace at /github/workspace, sets the working
# directory itself, and expects root so the files written there stay usable by later steps.
ENTRYPOINT ["ci-gate"]
