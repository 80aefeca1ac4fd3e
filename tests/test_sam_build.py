"""local/sam_build.sh finds the interpreter the template's runtime needs, or skips in one line.

The script runs with a PATH holding only the tools it uses and fake interpreters, and with an
empty (or fake) pyenv root, so what this machine has installed does not matter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "local" / "sam_build.sh"
TOOLS = (
    "bash",
    "dirname",
    "grep",
    "sed",
    "sort",
    "ls",
    "mktemp",
    "rm",
    "find",
    "head",
    "tail",
    "cut",
    "env",
)
SKIP_LINE = (
    "sam build skipped: no python3.12 on PATH; the deployment builds with the python3.12 runtime"
)

pytestmark = pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "sam").exists(), reason="the SAM CLI is installed by make"
)


def fake_python(directory: Path, name: str, version: str) -> None:
    """A ``python3.X`` that answers the script's version check as ``version`` would."""
    major, minor = version.split(".")[:2]
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(
        "#!/bin/bash\n"
        f'if [[ "$1" == "-V" ]]; then echo "Python {version}"; exit 0; fi\n'
        # the check (`-c CODE`) names the version it wants; this one is {major}.{minor}
        f'[[ "$2" == *"\'{major}.{minor}\'"* ]]\n'
    )
    script.chmod(0o755)


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    environment = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "SAM_BUILD_FIND_ONLY": "1",
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(shutil.which("bash")), str(SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_only_python_3_11_the_build_is_skipped_in_one_line_and_exit_0(
    tmp_path: Path,
) -> None:
    fake_python(tmp_path / "bin", "python3.11", "3.11.7")
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [SKIP_LINE]
    assert done.stderr == ""


def test_required_build_without_the_interpreter_fails(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin", "python3.11", "3.11.7")
    done = run(tmp_path, SAM_BUILD_REQUIRED="1")
    assert done.returncode == 3
    assert SKIP_LINE in done.stderr


def test_a_python3_12_on_path_is_used_in_ci(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin", "python3.12", "3.12.4")
    done = run(tmp_path, CI="true")
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stdout + done.stderr
    assert f"python3.12 is {tmp_path / 'bin' / 'python3.12'} (Python 3.12.4)" in done.stderr


def test_a_python3_13_named_python3_12_is_not_taken_for_it(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin", "python3.12", "3.13.0")  # e.g. a stray symlink
    done = run(tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == SKIP_LINE


def test_the_newest_pyenv_3_12_is_found_without_pyenv_on_path(tmp_path: Path) -> None:
    for version in ("3.12.1", "3.12.10", "3.13.0"):
        fake_python(tmp_path / "pyenv" / "versions" / version / "bin", "python3.12", version)
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    newest = tmp_path / "pyenv" / "versions" / "3.12.10" / "bin" / "python3.12"
    assert f"python3.12 is {newest} (Python 3.12.10)" in done.stderr
    assert "skipped" not in done.stdout
