"""The command line of ``ci-gate init``; kept apart so that building the parser imports nothing."""

from __future__ import annotations

import argparse

KINDS = ("openai", "anthropic", "http", "command", "python", "fake")


def add_init_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the repository (default: .)")
    p.add_argument(
        "--suite",
        default="evals/suite.yaml",
        metavar="PATH",
        help="the suite file to write, relative to DIR (default evals/suite.yaml)",
    )
    p.add_argument(
        "-y",
        "--yes",
        "--non-interactive",
        dest="yes",
        action="store_true",
        help="ask nothing, even on a terminal: the answers come from the flags",
    )
    p.add_argument("--name", help="suite name (default: DIR's folder name)")
    p.add_argument("--goal", help="what the product is for, in a sentence (spec.goal)")
    p.add_argument("--target", metavar="KIND", help=f"what is evaluated: {', '.join(KINDS)}")
    p.add_argument("--model", help="openai/anthropic: the model")
    p.add_argument(
        "--base-url", help="openai/anthropic: another endpoint (vLLM, Ollama, a gateway)"
    )
    p.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="openai/anthropic: the variable holding the key (default OPENAI_API_KEY or"
        " ANTHROPIC_API_KEY); never the key itself",
    )
    p.add_argument("--system", metavar="TEXT", help="openai/anthropic: the system prompt")
    p.add_argument("--url", help="http: the URL of your service")
    p.add_argument(
        "--body",
        metavar="JSON",
        help='http: the JSON body template (default {"input": "{{ vars.input }}"})',
    )
    p.add_argument(
        "--output-path", help="http: where the answer is in the reply, dotted (default output)"
    )
    p.add_argument(
        "--command",
        dest="command_line",
        metavar="COMMAND",
        help="command: the program and its arguments, run from DIR, e.g. 'python3 bot.py'",
    )
    p.add_argument(
        "--function", metavar="MODULE:FUNCTION", help="python: the function, e.g. app.bot:answer"
    )
    p.add_argument(
        "--path",
        dest="folder",
        metavar="FOLDER",
        help="python: the folder to import the module from, relative to DIR (default .)",
    )
    p.add_argument(
        "--example",
        action="append",
        metavar="TEXT",
        help="an input your users send; 'TEXT => PHRASE' also checks that a good answer contains"
        " PHRASE (repeatable, in order)",
    )
    p.add_argument(
        "--behaviour",
        action="append",
        metavar="'NAME: SENTENCE'",
        help="what a good answer does (repeatable)",
    )
    p.add_argument(
        "--failure-mode",
        action="append",
        metavar="'NAME (SEVERITY): SENTENCE'",
        help="what you fear it will do; severity low, medium (default), high or critical"
        " (repeatable)",
    )
    p.add_argument(
        "--link",
        action="append",
        metavar="'N: NAME,NAME'",
        help="example N (from 1) exercises these behaviours or guards against these failure"
        " modes (repeatable)",
    )
    p.add_argument(
        "--branch",
        default="main",
        help="the default branch, whose pushes store baselines (default main)",
    )
    p.add_argument(
        "--from-promptfoo",
        metavar="FILE",
        help="convert this promptfooconfig.yaml instead of asking (the workflows are written"
        " as usual)",
    )
    p.add_argument("--no-workflows", action="store_true", help="write no GitHub workflow files")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist")
