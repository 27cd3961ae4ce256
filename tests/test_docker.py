"""The container image, as far as it can be tested without a Docker engine: the command the
image runs, with the image's environment, serves and passes the image's own health check."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

from helpers import closed_port

from colalamo.testing import FakeCopilot, wait_until

DOCKER = Path(__file__).parent.parent / "docker"
DOCKERFILE = (DOCKER / "Dockerfile").read_text()


def _final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def _instruction(name: str) -> list[str]:
    text = _final_stage().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(name + " ")]


def image_env() -> dict[str, str]:
    env = {}
    for value in _instruction("ENV"):
        for pair in shlex.split(value):
            key, _, val = pair.partition("=")
            env[key] = val
    return env


def image_command() -> list[str]:
    (entrypoint,) = _instruction("ENTRYPOINT")
    (cmd,) = _instruction("CMD")
    return json.loads(entrypoint) + json.loads(cmd)


def healthcheck() -> list[str]:
    (check,) = _instruction("HEALTHCHECK")
    return json.loads(check.split("CMD", 1)[1].strip())


def test_image_is_slim_non_root_with_a_volume_and_a_healthcheck() -> None:
    assert "FROM python:3.12-slim AS build" in DOCKERFILE  # two stages: no build tools kept
    assert "'.[redis,fast]'" in DOCKERFILE  # Redis for replicas; uvloop, which the bench shows pays
    assert _instruction("USER") == ["colalamo"]
    assert _instruction("VOLUME") == ['["/data"]']
    assert image_env()["COLALAMO_TOKEN_FILE"].startswith("/data/")
    assert image_env()["COLALAMO_HOST"] == "0.0.0.0"
    compose = (DOCKER / "compose.yaml").read_text()
    assert '"127.0.0.1:4242:4242"' in compose and "COLALAMO_API_KEY" in compose and "/data" in compose


def test_the_image_command_serves_and_reports_healthy(fake: FakeCopilot, tmp_path: Path) -> None:
    port = str(closed_port())
    env = {
        **os.environ, **image_env(), **fake.env(),
        "COLALAMO_PORT": port,  # the image's 4242 may be taken here
        "COLALAMO_TOKEN_FILE": str(tmp_path / "github-token"),  # stands in for the /data volume
    }
    command = image_command()
    command[0] = shutil.which(command[0]) or command[0]
    process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True).start()
    try:
        wait_until(lambda: "listening" in "".join(output) or process.poll() is not None, timeout=30)
        assert f"colalamo is listening on 0.0.0.0:{port}" in "".join(output)
        assert re.search(r"^\s+clm-\S+$", "".join(output), flags=re.M)  # no key given: one is made
        check = subprocess.run(healthcheck(), env=env, timeout=30)
        assert check.returncode == 0
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_dockerignore_keeps_secrets_out_of_the_build_context() -> None:
    ignored = (DOCKER.parent / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".copilot-token" in ignored and ".git" in ignored
