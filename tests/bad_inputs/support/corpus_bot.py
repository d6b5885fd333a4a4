"""A target module with one function; the suite names another."""


def answer(vars: dict, context: dict) -> str:
    return "hi"
