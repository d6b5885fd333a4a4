"""Rendering of ci-gate's reports: PR comments, job summaries, log lines and JUnit XML."""
