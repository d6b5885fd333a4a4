"""A command scorer for tests/test_assertions_custom.py; config.mode picks what it does."""

import json
import sys
import time

payload = json.load(sys.stdin)
mode = payload["config"]["mode"]
if mode == "answer":
    print(json.dumps(payload["config"]["answer"]))
elif mode == "keys":
    print("a log line", file=sys.stderr)
    ok = payload["output"] == "We refund within 30 days." and payload["vars"] == {"q": "refund?"}
    print(json.dumps({"pass": ok, "message": ",".join(sorted(payload))}))
elif mode == "fail":
    print("first line\nTraceback: boom " + "x" * 400, file=sys.stderr)
    sys.exit(3)
elif mode == "sleep":
    time.sleep(30)
elif mode == "garbage":
    print("Score: great")
elif mode == "silent":
    pass
