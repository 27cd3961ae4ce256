"""`colalamo doctor`: what colalamo runs with and what works, in one report for a bug report.

Each check runs against the configuration in effect (GitHub and Copilot as the settings name
them); a check that needs an earlier one that failed is skipped. Secrets are masked."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from .._version import __version__
from ..config import ALIASES, Settings
from ..exceptions import ColalamoError

HELP = "check the set-up (settings, token, GitHub, Copilot, quota, proxy) for a bug report"
EPILOG = """\
examples:
  colalamo doctor
  colalamo doctor --json > doctor.json     attach it to an issue (tokens are masked)

exits 1 when a check fails.
"""
#: The settings a command-line flag can give (as the top-level parser names them).
FLAGS = ("host", "port", "model", "log_level", "log_format", "log_bodies", "no_auth")
SECRET_SETTINGS = ("github_token", "api_keys")
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


@dataclass
class Check:
    name: str
    status: str  # ok, failed or skipped
    detail: str


async def run(args: argparse.Namespace, settings: Settings) -> int:
    checks = await run_checks(settings)
    report = {
        "colalamo": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "settings": settings_in_effect(settings, args),
        "network": network_settings(settings),
        "checks": [asdict(check) for check in checks],
        "ok": all(check.status == "ok" for check in checks),
    }
    print(json.dumps(report, indent=2) if args.json else as_text(report))
    return 0 if report["ok"] else 1


# settings -----------------------------------------------------------------------------------


def settings_in_effect(settings: Settings, args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """Every setting, by its variable name: the value (secrets masked) and where it came from."""
    env_file = Path.cwd() / ".env"
    from_file = {k: v for k, v in dotenv_values(env_file).items() if v} if env_file.is_file() else {}
    shown = {}
    for field in fields(Settings):
        name = "COLALAMO_" + field.name.upper()
        names = (name, ALIASES[field.name]) if field.name in ALIASES else (name,)
        flag = getattr(args, field.name, None) if field.name in FLAGS else None
        if flag is not None and flag is not False:
            source = "flag"
        elif any(os.environ.get(n) for n in names):
            source = "env"
        elif any(n in from_file for n in names):
            source = ".env"
        else:
            source = "default"
        shown[name] = {"value": _shown_value(field.name, getattr(settings, field.name)), "source": source}
    return shown


def _shown_value(name: str, value: Any) -> str:
    if name in SECRET_SETTINGS:
        if not value:
            return "(unset)"
        return f"{len(value)} key(s), masked" if isinstance(value, tuple) else mask(str(value))
    if value is None or value == ():
        return "(unset)"
    return ",".join(value) if isinstance(value, tuple) else str(value)


def mask(secret: str) -> str:
    """`gho_…(40 characters)`: the kind of token shows, never the token."""
    kind = secret.split("_", 1)[0] + "_" if "_" in secret[:5] else ""
    return f"{kind}…({len(secret)} characters)"


def network_settings(settings: Settings) -> dict[str, str]:
    """Proxy and CA settings colalamo's HTTP client honours; credentials in proxy URLs masked."""
    shown = {}
    for name in (*PROXY_VARIABLES, *CA_VARIABLES):
        value = os.environ.get(name) or os.environ.get(name.lower())
        shown[name] = re.sub(r"//[^/@]+@", "//***@", value) if value else "(unset)"
    shown["COLALAMO_CA_BUNDLE"] = str(settings.ca_bundle) if settings.ca_bundle else "(unset)"
    return shown


# checks -------------------------------------------------------------------------------------


async def run_checks(settings: Settings) -> list[Check]:
    import aiohttp  # imported when run: `colalamo --help` stays quick

    from .._auth import GitHubToken, find_github_token
    from .._auth.device_id import load_identity
    from .._core import new_http_session
    from .._state.local import memory_state
    from .._upstream.client import CopilotClient
    from .._upstream.quota import fetch_quota
    from .._upstream.token_manager import TokenManager

    checks: list[Check] = []

    async def check(name: str, step: Callable[[], Awaitable[str]]) -> bool:
        if any(c.status != "ok" for c in checks):
            checks.append(Check(name, "skipped", "needs the checks above"))
            return False
        try:
            checks.append(Check(name, "ok", await step()))
        except ColalamoError as exc:
            checks.append(Check(name, "failed", exc.message))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            checks.append(Check(name, "failed", f"{type(exc).__name__}: {exc}"))
        return checks[-1].status == "ok"

    state: dict[str, Any] = {}
    async with new_http_session(settings) as http:

        async def github_token() -> str:
            found: GitHubToken | None = await asyncio.to_thread(find_github_token, settings)
            if found is None:
                raise ColalamoError("no GitHub token found: run `colalamo login`, or set COLALAMO_GITHUB_TOKEN")
            state["github"] = found
            state["identity"] = await load_identity(settings)
            return f"from {found.source}"

        async def github_accepts() -> str:
            quota = await fetch_quota(http, settings.github_api_url, state["github"].value, state["identity"])
            state["quota"] = quota
            account, plan = quota.get("login") or "?", quota.get("plan") or "?"
            return f"{settings.github_api_url} accepts it: account {account}, plan {plan}"

        async def copilot_token() -> str:
            tokens = TokenManager(http, settings.github_api_url, state["github"].value, identity=state["identity"])
            token = await tokens.get()
            state["tokens"], state["api_url"] = tokens, token.api_url
            return f"exchanged; good for {token.lifetime / 60:.0f} min"

        async def copilot_api() -> str:
            client = CopilotClient(http, state["tokens"], settings, memory_state(settings))
            base = client.transport.base_url(state["api_url"])
            models = await client.models()
            return f"{base} answers: {len(models)} models in the catalogue"

        async def quota() -> str:
            return quota_line(state["quota"])

        await check("GitHub token", github_token)
        await check("GitHub accepts it", github_accepts)
        await check("Copilot token", copilot_token)
        await check("Copilot API", copilot_api)
        await check("quota", quota)
        if "tokens" in state:
            await state["tokens"].stop()
    return checks


def quota_line(quota: dict[str, Any]) -> str:
    premium = (quota.get("quotas") or {}).get("premium_interactions") or {}
    if premium.get("unlimited"):
        left = "premium requests: unlimited"
    elif premium:
        left = f"premium requests: {premium.get('remaining')} of {premium.get('entitlement')} left"
    else:
        left = "no premium quota reported"
    return f"{left}; resets on {quota.get('quota_reset_date') or '?'}"


# text ---------------------------------------------------------------------------------------


def as_text(report: dict[str, Any]) -> str:
    lines = [f"colalamo  {report['colalamo']}", f"python    {report['python']}", f"platform  {report['platform']}",
             "", "checks"]
    lines += [f"  {c['status']:8}{c['name']:20}{c['detail']}" for c in report["checks"]]
    lines += ["", "settings (source)"]
    lines += [f"  {name:32}{s['value']}  ({s['source']})" for name, s in report["settings"].items()]
    lines += ["", "proxy and CA"]
    lines += [f"  {name:32}{value}" for name, value in report["network"].items()]
    lines += ["", "all checks passed" if report["ok"] else "some checks failed (see above)"]
    return "\n".join(lines)
