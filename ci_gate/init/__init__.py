"""``ci-gate init``: scaffold a first suite, its spec and the workflow files in a repository.

``answers`` holds what the user chose and the checks of each answer, ``questions`` asks for them
on a terminal, ``flags`` reads them from the command line, ``scaffold`` and ``workflows`` build
the file texts, ``write`` writes them all or none.
"""
