"""ci-gate: gate pull requests on LLM eval regressions in quality, latency and cost."""

__version__ = "0.1.0"
