"""The GitHub Action: inputs, run context, the plan per event, one suite's job, publishing.

``ci_gate.commands.action`` is the entry point that puts these together.
"""
