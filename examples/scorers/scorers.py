"""The custom scorer behind `value: "scorers:no_internal_ids"` in examples/scorers/suite.yaml.

ci-gate calls it with the output text and a context dict (case_id, sample, vars, expected, extra,
config, request). It may return True/False, a score in [0, 1], or {pass, score, message}.
"""

import re

_INTERNAL = re.compile(r"\b(TICKET|CRM)-\d+\b")


def no_internal_ids(output, context):
    found = _INTERNAL.findall(output)
    if found:
        return {"pass": False, "score": 0.0, "message": f"leaks {len(found)} internal id(s)"}
    return {"pass": True, "score": 1.0, "message": "no internal ids"}
