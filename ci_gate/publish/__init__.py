"""Publishing a report on GitHub: the sticky PR comment, the job summary, outputs, annotations.

Only :mod:`ci_gate.publish.github_api` imports PyGithub, and only when it is called.
"""
