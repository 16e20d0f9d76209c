"""The README's commands that need a running stack (labelled `<!-- readme-test: stack -->`) run as written
against a real `make run`: the simulator examples, the synthetic county's load, tokens and /v1/me, the
dead letters. The offline blocks run first, as a reader would have run them (the county load reads what
`county generate` wrote). `make demo` is not among them: it takes minutes, and tests/e2e runs its story."""

import json
import os
import signal
from pathlib import Path

import pytest
from readme_blocks import default_ports, shell_blocks
from stack_helpers import RunningStack, processes_of

pytestmark = pytest.mark.slow


def test_the_readme_commands_run_against_make_run(tmp_path: Path) -> None:
    blocks = [b for b in shell_blocks() if b.kind in ("offline", "stack")]
    assert any(b.kind == "stack" for b in blocks)
    stack = RunningStack.start(tmp_path)
    try:
        stack.wait_until_ready()
        ports = {default: stack.port(name) for name, default in default_ports().items()}
        outputs = {b.line: b.run(tmp_path, ports) for b in blocks}
        me = next(out for b, out in zip(blocks, outputs.values(), strict=True) if "/v1/me" in b.text)
        assert json.loads(me.strip().splitlines()[-1])["roles"] == ["caseworker"]
        os.killpg(stack.proc.pid, signal.SIGINT)
        stack.finish()
        assert processes_of(tmp_path) == {}
    finally:
        stack.kill()
