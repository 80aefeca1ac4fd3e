"""The README's local commands work as written, and its links stay inside the repository.

The blocks under a ``<!-- readme-test: ... -->`` marker are run here: the Python snippet
(with the layer on the path, as the README says) against the simulator, and each
``local.invoke`` example in a fresh process, checking that it finds what its comment claims."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.lambda_runtime import ROOT
from local.simulator.server import SimulatorServer

README = (ROOT / "README.md").read_text(encoding="utf-8")
GIT = shutil.which("git") or "git"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def block(marker: str) -> str:
    found = re.search(rf"<!-- readme-test: {marker} -->\n```\w+\n(.*?)\n```", README, re.S)
    assert found, f"README.md has no block marked {marker}"
    return found.group(1)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without AWS or portal settings (as a newcomer's shell)."""
    drop = ("AWS_", "DOCSPACE_", "STATE_TABLE", "FINDINGS_TOPIC_ARN", "INITIAL_LOOKBACK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | extra


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the README's own commands
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.e2e
def test_the_python_snippet_runs_with_the_layer_on_the_path(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    assert "PYTHONPATH=shared .venv/bin/python last_logins.py" in README
    script = tmp_path / "last_logins.py"
    script.write_text(block("snippet"), encoding="utf-8")
    env = clean_env(
        PYTHONPATH="shared", DOCSPACE_URL=simulator.url, DOCSPACE_API_KEY=simulator.api_key
    )
    done = run([sys.executable, str(script)], env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(len(line.split()) >= 4 for line in lines)


def _examples() -> list[tuple[str, str]]:
    examples = []
    for line in block("commands").splitlines():
        command, _, claim = line.partition("#")
        examples.append((command.strip(), claim.strip()))
    return examples


@pytest.mark.e2e
@pytest.mark.parametrize(("command", "claim"), _examples(), ids=lambda value: value[:60])
def test_each_invoke_example_finds_what_it_claims(command: str, claim: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/python" and argv[1:3] == ["-m", "local.invoke"]
    done = run([sys.executable, *argv[1:]], clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    claimed = re.fullmatch(r"(?:(\d+) )?findings?: ?(.*)", claim)
    assert claimed, f"say what the example shows: {claim!r}"
    count, kinds = claimed.groups()
    if count is not None:
        assert f"\n{count} message(s) reached SNS" in done.stderr
    for kind in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", kinds):
        assert f"/{kind}:" in done.stderr, f"{kind} not published"


def test_no_link_leaves_the_repository_or_names_an_ignored_file() -> None:
    for document in DOCS:
        text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        assert not re.search(r"https?://", text), f"{document.name} links outside the repository"
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith("#"):
                continue
            path = (document.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{document.name}: {target} does not exist"
            relative = path.relative_to(ROOT)
            ignored = subprocess.run(  # noqa: S603 - fixed arguments
                [GIT, "check-ignore", "-q", str(relative)], cwd=ROOT, check=False
            )
            assert ignored.returncode != 0, f"{document.name}: {target} is ignored by git"


def test_the_readme_has_the_architecture_diagram() -> None:
    diagram = re.search(r"```mermaid\n(.*?)```", README, re.S)
    assert diagram
    for part in ("Scheduler", "Layer", "DocSpace API", "state table", "findings topic"):
        assert part in diagram.group(1)
    for part in ("webhook_receiver", "realtime_guard", "operations topic", "dead-letter"):
        assert part in diagram.group(1)
