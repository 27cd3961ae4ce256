"""GitHub login: finding, storing and obtaining the GitHub OAuth token."""

from .device_flow import CLIENT_ID, DeviceCode, device_flow_login
from .login import login_and_store
from .token_store import (
    GitHubToken,
    delete_github_token,
    find_github_token,
    read_token_file,
    save_github_token,
)

__all__ = [
    "CLIENT_ID",
    "DeviceCode",
    "GitHubToken",
    "delete_github_token",
    "device_flow_login",
    "find_github_token",
    "login_and_store",
    "read_token_file",
    "save_github_token",
]
