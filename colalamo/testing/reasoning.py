"""Reasoning items' `encrypted_content`: opaque to clients, verifiable by the fake that issued it.

Copilot answers 400 `Encrypted content could not be decrypted or parsed.` to a reasoning item
whose content it did not issue or that was changed; the fake seals each reasoning item's id
with a secret of its own (an HMAC), so it can tell the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

_VERSION = b"\x80"  # looks like the Fernet tokens the real API hands out ("gAAAAA...")
_MAC_SIZE = 32


class ReasoningSeal:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def seal(self, item_id: str) -> str:
        """The `encrypted_content` of the reasoning item `item_id`."""
        data = _VERSION + int(time.time()).to_bytes(8, "big") + item_id.encode()
        return base64.urlsafe_b64encode(data + self._mac(data)).decode()

    def opens(self, item: dict[str, Any]) -> bool:
        """Whether the item's `encrypted_content` is one this fake issued, unaltered (and, when
        the item carries an id, issued for that id)."""
        content = item.get("encrypted_content")
        if not isinstance(content, str):
            return False
        try:
            raw = base64.urlsafe_b64decode(content.encode())
        except (binascii.Error, ValueError):
            return False
        data, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
        if len(data) <= 9 or not data.startswith(_VERSION) or not hmac.compare_digest(mac, self._mac(data)):
            return False
        item_id = item.get("id")
        return item_id is None or data[9:] == str(item_id).encode()
