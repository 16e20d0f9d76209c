"""Every command in the README runs as shown on a machine with only Python and make (issue 13: `uv run …`
failed with "uv: command not found", the simulator examples with 422). The blocks that need no running
stack run here; tests/stack/test_readme_with_stack.py runs the others against a real `make run`."""

import re
import shlex
import shutil
from pathlib import Path

import pytest
from readme_blocks import README, ROOT, ShellBlock, shell_blocks

BLOCKS = shell_blocks()
INLINE_CODE = re.compile(r"`([^`\n]+)`")
COMMAND_START = re.compile(r"(uv|uvx|curl|make|guanhuai|guanhuai-demo)\s|\.venv/bin/")


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([\w-]+):", text, re.M))


def program_problem(command: str) -> str | None:
    """Why this command line would not run on a machine with only Python, make and the synced .venv."""
    words = command.replace("$(", " ").split()
    if not words:
        return None
    words = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)] or words  # VAR=… prefixes
    program = words[0]
    if program in ("uv", "uvx") or program.startswith(("guanhuai", "uvicorn", "pytest")):
        return f"`{program}` is not on a plain machine's PATH (use make or .venv/bin/{program})"
    if program.startswith(".venv/bin/") and not (ROOT / program).exists():
        return f"{program} does not exist after `make sync`"
    if program == "make":
        targets = [w for w in shlex.split(command)[1:] if not w.startswith("-") and "=" not in w]
        unknown = [t for t in targets if t not in make_targets()]
        return f"no make target {unknown}" if unknown else None
    if program == "curl" and " -d " in command and "Content-Type: application/json" not in command:
        return "curl -d sends form data: add -H 'Content-Type: application/json'"
    return None


def test_the_readme_has_shell_blocks_of_every_kind() -> None:
    assert {b.kind for b in BLOCKS} == {"offline", "stack", "manual"}


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"line-{b.line}")
def test_every_shell_block_says_which_test_runs_it(block: ShellBlock) -> None:
    assert block.kind, f"README.md line {block.line}: put <!-- readme-test: offline|stack|manual (why) --> above it"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"line-{b.line}")
def test_every_command_of_a_block_runs_on_python_and_make_alone(block: ShellBlock) -> None:
    problems = {c: program_problem(c) for c in block.commands()}
    assert {c: p for c, p in problems.items() if p} == {}, f"README.md line {block.line}"


def test_no_command_in_the_text_needs_uv() -> None:
    """Commands quoted inline in the prose, e.g. `.venv/bin/guanhuai run --ready-timeout 120`."""
    text = README.read_text(encoding="utf-8")
    quoted = [c for c in INLINE_CODE.findall(text) if COMMAND_START.match(c)]
    assert quoted, "no inline command found: the pattern is out of date"
    problems = {c: program_problem(c) for c in quoted if not c.startswith("uv sync")}  # prose on what make does
    assert {c: p for c, p in problems.items() if p} == {}


def test_the_checks_catch_what_issue_13_found() -> None:
    assert program_problem("uv run guanhuai-demo county load --folder .data/county")
    assert program_problem("guanhuai run --ready-timeout 120")
    assert program_problem("""curl -X PUT localhost:8101/_sim/config -d '{"failure_rate":0.05}'""")
    assert program_problem("make no-such-target")
    assert program_problem(".venv/bin/no-such-program --help")
    assert program_problem("TOKEN=$(make -s token ROLE=caseworker REGION=360702)") is None
    assert program_problem("""make test PYTEST_ARGS="-m 'not slow'\"""") is None


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "offline"], ids=lambda b: f"line-{b.line}")
def test_the_blocks_that_need_no_stack_run_as_written(block: ShellBlock, tmp_path: Path) -> None:
    assert shutil.which("make"), "make is one of the two things the README asks for"
    block.run(tmp_path)
    if "county generate" in block.text:
        assert sorted(p.name for p in (tmp_path / "county").iterdir()) >= ["events.jsonl", "persons-001.csv"]
