"""Install the real coding agents the `clients` test tier drives, once, into a cache.

    python tests/clients/install.py          # install (fast no-op when already there)
    python tests/clients/install.py --where  # print the directory, install nothing

The versions are pinned in this folder only: `package.json` + `package-lock.json` (npm:
Claude Code, Codex CLI, opencode, the AI SDK, openai-node) and `aider-requirements.txt`
(aider, in its own venv). The cache is `$COLALAMO_CLIENTS_CACHE` (default
`~/.cache/colalamo-clients`), one directory per hash of those files and of the Node, Python
and platform in use, so a version bump installs afresh and the old one stays until removed.
An install counts once its `.complete` marker is written, so an interrupted one is never
mistaken for a finished one; a lock file makes concurrent installs take turns. npm's own download cache lives in the
same cache directory (`npm/`), so CI can keep one directory between runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINNED = ("package.json", "package-lock.json", "aider-requirements.txt")
#: What the tests need from an install; a directory missing one is not an install.
MARKER = ".complete"


def cache_root() -> Path:
    configured = os.environ.get("COLALAMO_CLIENTS_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "colalamo-clients"


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "no-node"
    return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()


def install_key() -> str:
    """A hash of the pinned versions and the runtimes they are installed for."""
    digest = hashlib.sha256()
    for name in PINNED:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    runtimes = f"{_node_version()} python{sys.version_info[0]}.{sys.version_info[1]} {platform.machine()}"
    digest.update(runtimes.encode())
    return digest.hexdigest()[:16]


def install_dir() -> Path:
    return cache_root() / install_key()


def installed() -> Path | None:
    """The install directory when the pinned clients are installed there, else None."""
    where = install_dir()
    return where if (where / MARKER).is_file() else None


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, env=env, check=True, timeout=1800)


def _install_into(target: Path, npm_cache: Path) -> None:
    for name in PINNED:
        shutil.copy2(HERE / name, target / name)
    env = {**os.environ, "npm_config_cache": str(npm_cache), "npm_config_update_notifier": "false"}
    # `npm install` with the lock file, not `npm ci`: the lock lists only the platform packages
    # of the machine that wrote it (opencode's others are not even on every registry), which
    # `npm ci` refuses. The two postinstall scripts (allowed in package.json) only copy the
    # platform binary out of an npm package; they download nothing.
    _run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], target, env)
    _run([sys.executable, "-m", "venv", str(target / "aider-venv")], target, env)
    pip = str(target / "aider-venv" / "bin" / "pip")
    _run([pip, "install", "--quiet", "--disable-pip-version-check", "-r", "aider-requirements.txt"], target, env)
    (target / MARKER).write_text(install_key() + "\n")


def install() -> Path:
    where = installed()
    if where is not None:
        return where
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two installs at once (parallel CI jobs) take turns
        where = installed()
        if where is not None:
            return where
        target = install_dir()
        # built in place (a venv names its own path), complete only once MARKER is written:
        # what an interrupted install left is removed first
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        started = time.monotonic()
        try:
            _install_into(target, root / "npm")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    print(f"clients installed in {target} ({time.monotonic() - started:.0f} s)", flush=True)
    return target


def main(argv: list[str]) -> int:
    if "--where" in argv:
        print(install_dir())
        return 0
    if shutil.which("npm") is None or shutil.which("node") is None:
        print("the clients tier needs Node.js and npm on PATH", file=sys.stderr)
        return 1
    print(install())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
