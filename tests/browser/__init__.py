"""Driving Debian's headless Chromium for the report viewer's browser tests."""
