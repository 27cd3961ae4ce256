"""`python -c CODE` without paying for the imports each time.

A fresh interpreter that runs a README example spends seconds importing openai, anthropic,
langchain or llama_index before the example's first line does anything. `WarmPython` starts one
interpreter that imports those modules once, then forks a child per snippet: each child is a
process of its own (its own environment, working directory, stdin from /dev/null, stdout and
stderr captured) that runs the snippet as `python -c` would, in a clean `__main__`, with
`sys.argv == ["-c"]` and `sys.path[0] == ""`, and exits as `python -c` exits (an uncaught
exception prints its traceback and exits 1; at the end non-daemon threads are joined, atexit
handlers run and the output is flushed). Only `sys.modules` is warm: a snippet that forgets an
import still fails.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

# Run with `python -c RUNNER PRELOAD_JSON`. Once it has imported them it says "ready"; then it
# reads one JSON request a line on stdin, answers the child's pid on a line, then its exit
# status on another. Everything it defines is a function or a name starting with `_`, and the
# child puts `__main__` back as it was before it runs the snippet in it.
RUNNER = r'''
_pristine = __import__("sys").modules["__main__"].__dict__.copy()
import gc, importlib, json, os, sys

def _preload(names):
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # the snippet's own import fails the same way, in its own process
    gc.freeze()  # the children's collections leave the preloaded objects (and their pages) alone
    print("ready", flush=True)

def _serve():
    """The request, in a forked child; None in the runner, once stdin closes."""
    _preload(json.loads(sys.argv[1]))
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            return request
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
    return None

def _become(request):
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = sys.__stdin__ = open(0, closefd=False)  # none of the runner's read-ahead
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    sys.argv[:] = ["-c"]
    sys.path[0] = ""

def _run(code, main=sys.modules["__main__"].__dict__, pristine=_pristine):
    """Runs `code` in `__main__` as it was, then exits as Python does: the exit status of
    SystemExit, or the traceback and 1; then non-daemon threads are joined, atexit handlers
    run and the output flushed. Only freeing every module's objects is skipped (seconds, and
    nothing a snippet can see)."""
    import atexit, os, sys, threading  # locals: `main`, where they were, is cleared
    main.clear()
    main.update(pristine)
    status = 0
    try:
        exec(compile(code, "<string>", "exec"), main)
    except SystemExit as stop:
        if isinstance(stop.code, int) or stop.code is None:
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException:
        kind, error, trace = sys.exc_info()
        trace = error.__traceback__ = trace.tb_next if trace else None  # the snippet's frames only
        sys.excepthook(kind, error, trace)
        status = 1
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(status & 0xFF)

_request = _serve()
if _request is None:
    os._exit(0)  # the runner: nothing to tear down that anyone would see
_become(_request)
_run(_request["code"])
'''


class WarmPython:
    """One interpreter with `preload` imported, forking a child per `run`. It imports in the
    background: the first `run` waits for it."""

    def __init__(self, preload: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.cwd = cwd
        self._scratch = Path(tempfile.mkdtemp(dir=cwd))
        self.process = subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(preload)], env=env, cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self._runs = 0
        self._ready = False

    def run(self, code: str, *, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        """What `subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=timeout)` gives (TimeoutExpired too, the child killed)."""
        if not self._ready:
            assert self._next_line(timeout=120) == "ready"
            self._ready = True
        self._runs += 1
        stdout, stderr = self._scratch / f"{self._runs}.out", self._scratch / f"{self._runs}.err"
        request = {"code": code, "env": env, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        pid = int(self._next_line(timeout=30))
        try:
            status = int(self._next_line(timeout=timeout))
        except queue.Empty:
            os.kill(pid, signal.SIGKILL)
            self._next_line(timeout=30)
            raise subprocess.TimeoutExpired(["python", "-c", code], timeout, stdout.read_text(),
                                            stderr.read_text()) from None
        return subprocess.CompletedProcess(["python", "-c", code], status, stdout.read_text(), stderr.read_text())

    def _read(self, out: IO[str]) -> None:
        for line in out:
            self._lines.put(line)
        self._lines.put("")  # the runner is gone

    def _next_line(self, *, timeout: float) -> str:
        line = self._lines.get(timeout=timeout)
        if not line:
            self._lines.put("")
            raise AssertionError(f"the warm interpreter died (status {self.process.wait(timeout=30)})")
        return line.strip()

    def close(self) -> None:
        assert self.process.stdin is not None
        if self.process.stdin.closed:
            return
        if not self._ready:
            self.process.kill()  # still importing, for no one
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
