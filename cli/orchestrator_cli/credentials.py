"""Bearer tokens per API URL in ~/.config/orchestrator/credentials.json (directory 0700, file 0600)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "orchestrator"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def normalise_url(url: str) -> str:
    """The key a token is stored under: no trailing slash, no /api/v1 suffix (the banner prints the URL with it)."""
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


class CredentialStore:
    def __init__(self, path: Path | None = None):
        self.path = path or credentials_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "tokens": {}}
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), dict):
            raise CredentialsError(f"{self.path} is not a credentials file of this CLI; delete it and log in again")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(directory, DIR_MODE)  # also when it existed with looser bits
        # Written to a private temporary file, then renamed: the token is never readable by others, even briefly,
        # and a crash leaves the previous file intact.
        descriptor, temporary = tempfile.mkstemp(prefix=".credentials-", dir=directory)
        try:
            os.fchmod(descriptor, FILE_MODE)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        os.chmod(self.path, FILE_MODE)

    def get(self, api_url: str) -> dict[str, Any] | None:
        entry = self._read()["tokens"].get(normalise_url(api_url))
        return entry if isinstance(entry, dict) and entry.get("access_token") else None

    def save(self, api_url: str, *, access_token: str, username: str, expires_in: int | None) -> dict[str, Any]:
        data = self._read()
        entry = {
            "access_token": access_token,
            "username": username,
            "expires_at": int(time.time()) + int(expires_in) if expires_in else None,
        }
        data["tokens"][normalise_url(api_url)] = entry
        self._write(data)
        return entry

    def remove(self, api_url: str) -> bool:
        data = self._read()
        removed = data["tokens"].pop(normalise_url(api_url), None) is not None
        if removed:
            self._write(data)
        return removed


def is_expired(entry: dict[str, Any], now: float | None = None) -> bool:
    expires_at = entry.get("expires_at")
    return bool(expires_at) and (now if now is not None else time.time()) >= expires_at


class CredentialsError(Exception):
    """The credentials file exists but cannot be used."""
