"""Fakes that tests and benchmarks run against: a real model HTTP server."""
