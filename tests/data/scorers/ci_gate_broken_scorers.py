"""A scorer module that fails while being imported (tests/test_assertions_custom.py)."""

raise RuntimeError("scorer module is broken on purpose")
