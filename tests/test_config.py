"""Settings: flag > environment > .env > default, and bad values refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from colalamo import ConfigError
from colalamo._settings_docs import env_example, readme_with_table
from colalamo.config import SETTINGS_HELP, Settings, load_settings


def test_defaults(isolated: Path) -> None:
    settings = load_settings(environ={})

    assert (settings.host, settings.port, settings.model) == ("127.0.0.1", 4242, "gpt-4.1")
    assert settings.github_url == "https://github.com"
    assert settings.github_api_url == "https://api.github.com"
    assert settings.copilot_api_url is None and settings.github_token is None
    assert settings.token_file == Path.home() / ".config" / "colalamo" / "github-token"
    assert settings.log_level == "info"


def test_precedence_flag_over_environment_over_dotenv(isolated: Path) -> None:
    (isolated / ".env").write_text("COLALAMO_PORT=1111\nCOLALAMO_MODEL=from-dotenv\nCOLALAMO_HOST=0.0.0.0\n")
    environ = {"COLALAMO_PORT": "2222", "COLALAMO_MODEL": "from-env"}

    settings = load_settings({"port": 3333}, environ=environ)

    assert settings.port == 3333
    assert settings.model == "from-env"
    assert settings.host == "0.0.0.0"


def test_dotenv_is_read_without_changing_the_process_environment(isolated: Path) -> None:
    import os

    (isolated / ".env").write_text("COLALAMO_MODEL=from-dotenv\n")
    assert load_settings().model == "from-dotenv"
    assert "COLALAMO_MODEL" not in os.environ


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COLALAMO_PORT", "eighty", "COLALAMO_PORT must be a whole number"),
        ("COLALAMO_PORT", "70000", "between 0 and 65535"),
        ("COLALAMO_GITHUB_URL", "github.com", "COLALAMO_GITHUB_URL must be an http(s) URL"),
        ("COLALAMO_COPILOT_API_URL", "ftp://x", "COLALAMO_COPILOT_API_URL must be an http(s) URL"),
        ("COLALAMO_LOG_LEVEL", "loud", "COLALAMO_LOG_LEVEL must be one of"),
        ("COLALAMO_READ_TIMEOUT", "-1", "COLALAMO_READ_TIMEOUT must be a positive"),
        ("COLALAMO_REDIS_URL", "localhost:6379", "COLALAMO_REDIS_URL must be a Redis URL such as redis://host:6379/0"),
    ],
)
def test_bad_values_are_clear_errors(isolated: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ={name: value})


def test_the_readme_and_env_example_are_made_from_the_settings_declarations() -> None:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    fix = "out of date: run `python -m colalamo._settings_docs`"

    assert (root / ".env.example").read_text() == env_example(), f".env.example is {fix}"
    assert readme_with_table(readme) == readme, f"the README's settings table is {fix}"
    for name in (f"COLALAMO_{f.upper()}" for f in Settings.__dataclass_fields__):
        assert f"# {name}=" in env_example() and f"| `{name}`" in readme, name
        assert SETTINGS_HELP[name][1], f"{name} has no help"


def test_the_environment_beats_env_whichever_name_each_uses(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("COLALAMO_API_KEYS=from-the-file\n")
    settings = load_settings(environ={"COLALAMO_API_KEY": "from-the-environment"}, dotenv_path=dotenv)
    assert settings.api_keys == ("from-the-environment",)
    assert load_settings(environ={}, dotenv_path=dotenv).api_keys == ("from-the-file",)


