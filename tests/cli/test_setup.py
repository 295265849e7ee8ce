"""scripts/put-on-path.sh, which demo.sh runs after setting up .venv: afterwards `raycast-ai`
runs from a new shell, by a symlink in ~/.local/bin or by the one line it prints."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "put-on-path.sh"
SYSTEM_PATH = "/usr/bin:/bin"


@pytest.fixture
def venv_bin(tmp_path: Path) -> Path:
    """A venv's bin folder whose raycast-ai says where it lives."""
    folder = tmp_path / "checkout" / ".venv" / "bin"
    folder.mkdir(parents=True)
    command = folder / "raycast-ai"
    command.write_text('#!/bin/sh\necho "raycast-ai from $0"\n')
    command.chmod(0o755)
    return folder


def sh(script: str, home: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": path}
    return subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, env=env, timeout=30
    )


def setup(venv_bin: Path, home: Path, path: str) -> subprocess.CompletedProcess[str]:
    done = sh(f"{shlex.quote(str(SCRIPT))} {shlex.quote(str(venv_bin))}", home, path)
    assert done.returncode == 0, done.stderr
    return done


def test_a_symlink_in_local_bin_when_it_is_on_path(venv_bin: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = f"{home}/.local/bin:{SYSTEM_PATH}"
    done = setup(venv_bin, home, path)
    link = home / ".local" / "bin" / "raycast-ai"
    assert done.stdout == f"raycast-ai is on your PATH now: {link} -> {venv_bin}/raycast-ai\n"
    assert link.resolve() == (venv_bin / "raycast-ai").resolve()
    ran = sh("raycast-ai", home, path)  # a new shell finds it
    assert ran.returncode == 0
    assert ran.stdout.startswith("raycast-ai from ")
    again = setup(venv_bin, home, path)  # idempotent
    assert again.stdout == f"raycast-ai is on your PATH: {link}\n"


def test_otherwise_the_one_line_to_add(venv_bin: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = setup(venv_bin, home, SYSTEM_PATH)
    assert not (home / ".local").exists()
    [line] = [row.strip() for row in done.stdout.splitlines() if row.strip().startswith("export")]
    assert line == f'export PATH="{venv_bin}:$PATH"'
    ran = sh(f"{line}\nraycast-ai", home, SYSTEM_PATH)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"raycast-ai from {venv_bin}/raycast-ai\n"


def test_another_raycast_ai_is_never_replaced(venv_bin: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    mine = home / ".local" / "bin" / "raycast-ai"
    mine.parent.mkdir(parents=True)
    mine.write_text("#!/bin/sh\necho pipx\n")
    mine.chmod(0o755)
    done = setup(venv_bin, home, f"{home}/.local/bin:{SYSTEM_PATH}")
    assert "left as it is" in done.stdout
    assert f"ln -sf '{venv_bin}/raycast-ai' '{mine}'" in done.stdout
    assert mine.read_text() == "#!/bin/sh\necho pipx\n"


def test_demo_sh_ends_with_raycast_ai_on_path(venv_bin: Path, tmp_path: Path) -> None:
    """demo.sh in a checkout whose .venv is already set up (its python a stand-in for pip)."""
    checkout = venv_bin.parents[1]
    (checkout / "scripts").mkdir()
    for name in ("demo.sh", "put-on-path.sh"):
        copy = checkout / "scripts" / name
        copy.write_text((ROOT / "scripts" / name).read_text())
        copy.chmod(0o755)
    python = venv_bin / "python"
    python.write_text('#!/bin/sh\necho "python $*" >> "$HOME/calls"\n')
    python.chmod(0o755)
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    path = f"{home}/.local/bin:{SYSTEM_PATH}"
    done = sh(f"{checkout}/scripts/demo.sh --delay 0", home, path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "raycast-ai from .venv/bin/raycast-ai"  # the demo ran first
    assert lines[-1].startswith("raycast-ai is on your PATH now: ")
    assert "-m pip install" in (home / "calls").read_text()
    assert sh("raycast-ai", home, path).stdout.startswith("raycast-ai from ")
