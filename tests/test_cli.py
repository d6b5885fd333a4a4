"""The command line in-process: exit codes and one-line errors for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gate import __version__
from ci_gate.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot" / "suite.yaml"

GOOD = """\
ci_gate: 1
name: tiny
targets:
  - {id: bot, provider: fake, default_output: "Refunds take 30 days."}
cases:
  - {id: a, vars: {q: x}, assert: [{type: contains, value: "30 days"}]}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ci-gate {__version__}"
    code, _, err = run([], capsys)
    assert code == 2 and "usage: ci-gate" in err


def test_schema_commands_print_json_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0 and json.loads(out)["$id"].endswith("suite-1.json")
    code, out, _ = run(["schema", "results"], capsys)
    assert code == 0 and json.loads(out)["$id"].endswith("results-1.json")


def test_validate_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", str(EXAMPLE)], capsys)
    assert code == 0, err
    assert "34 cases" in out and "8 tags" in out and "fingerprint: sha256:" in out


def test_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["frobnicate"],
        ["run"],
        ["run", str(EXAMPLE), "--concurrency", "zero"],
        ["run", str(EXAMPLE), "--concurrency", "0"],
        ["run", str(EXAMPLE), "--target", "nope"],
        ["schema", "other"],
    ):
        code, _, err = run(argv, capsys)
        assert code == 2, argv
        assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)


BAD_SUITES = {
    "bad-yaml": "ci_gate: 1\nname: [unclosed\n",
    "tabs": "ci_gate: 1\nname: x\ntargets:\n\t- id: a\n",
    "not-a-mapping": "- just\n- a list\n",
    "empty": "",
    "unknown-key": GOOD + "concurency: 4\n",
    "wrong-type": GOOD.replace("name: tiny", "name: tiny\nrepeats: many"),
    "duplicate-ids": GOOD + "  - {id: a, vars: {q: y}}\n",
    "missing-file": GOOD + "  - file: nowhere.jsonl\n",
    "newer-format": GOOD.replace("ci_gate: 1", "ci_gate: 99"),
    "bad-provider": GOOD.replace("provider: fake", "provider: openia"),
    "bad-regex": GOOD.replace('{type: contains, value: "30 days"}', '{type: regex, value: "(["}'),
    "missing-var": GOOD
    + "prompts:\n  - {id: p, template: '{{ question }}'}\ndefaults: {prompt: p}\n",
    "bad-amount": GOOD + "gate:\n  quality:\n    pass_rate: {max_drop: 2 points}\n",
    "yaml-bomb": 'ci_gate: 1\na: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + "".join(
        f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_SUITES))
def test_malformed_suites_get_located_one_line_errors(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(BAD_SUITES[name], encoding="utf-8")
    for command in ("validate", "run"):
        code, out, err = run(
            [command, str(path), "-o", str(tmp_path / "r.json")][
                : 2 if command == "validate" else 4
            ],
            capsys,
        )
        assert code == 2, (name, command, err)
        lines = err.splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), err
        assert all(f"{name}.yaml" in line for line in lines), err
        assert "Traceback" not in err and out == ""
    assert not (tmp_path / "r.json").exists()


def test_not_utf8_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + "# caf\xe9\n".encode("latin-1"))
    code, _, err = run(["validate", str(path)], capsys)
    assert code == 2 and "UTF-8" in err and err.count("\n") == 1


def test_missing_suite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate", str(tmp_path / "absent.yaml")], capsys)
    assert code == 2 and "absent.yaml" in err and err.count("\n") == 1


def test_run_of_a_fake_target_writes_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD, encoding="utf-8")
    code, out, err = run(["run", str(path), "-o", str(tmp_path / "r.json"), "-q"], capsys)
    assert code == 0, err
    assert "tiny on bot: 1 cases x 1 = 1 records: 1 passed" in out
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert data["records"][0]["output"] == "Refunds take 30 days."
