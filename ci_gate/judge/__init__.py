"""Model judges: prompts that fence untrusted text, answers checked against a JSON Schema."""
