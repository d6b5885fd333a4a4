"""A command scorer for examples/scorers/suite.yaml: reads JSON on stdin, writes JSON on stdout.

Input: {"output", "case_id", "sample", "vars", "expected", "extra", "config", "request"}.
Output: {"pass": bool, "score": number in [0, 1], "message": str}.
"""

import json
import sys

data = json.load(sys.stdin)
limit = int((data.get("config") or {}).get("max_words", 40))
words = len(data["output"].split())
score = 1.0 if words <= limit else limit / words
json.dump(
    {"pass": words <= limit, "score": score, "message": f"{words} words (limit {limit})"},
    sys.stdout,
)
