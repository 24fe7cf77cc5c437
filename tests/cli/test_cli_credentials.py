"""The credentials file: where it lives, its permissions, one token per API URL (no server)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from orchestrator_cli import exitcodes
from orchestrator_cli.credentials import CredentialStore, credentials_path, is_expired, normalise_url


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_path_follows_xdg_config_home(isolated_config: Path):
    assert credentials_path() == isolated_config / "orchestrator" / "credentials.json"


def test_relative_xdg_config_home_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials_path() == tmp_path / ".config" / "orchestrator" / "credentials.json"


def test_saved_file_is_0600_in_a_0700_directory(isolated_config: Path):
    store = CredentialStore()
    store.save("http://a:3000", access_token="tok-a", username="ann", expires_in=3600)
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    assert [p.name for p in store.path.parent.iterdir()] == ["credentials.json"]  # no temporary file left


def test_an_existing_loose_directory_and_file_are_tightened(isolated_config: Path):
    directory = isolated_config / "orchestrator"
    directory.mkdir(parents=True, mode=0o755)
    os.chmod(directory, 0o755)
    path = directory / "credentials.json"
    path.write_text('{"version": 1, "tokens": {}}')
    os.chmod(path, 0o644)
    CredentialStore().save("http://a:3000", access_token="t", username="u", expires_in=None)
    assert mode(path) == 0o600 and mode(directory) == 0o700


def test_tokens_are_kept_per_api_url_and_removed_one_at_a_time():
    store = CredentialStore()
    store.save("http://a:3000/", access_token="tok-a", username="ann", expires_in=60)
    store.save("http://b:3000/api/v1", access_token="tok-b", username="bob", expires_in=60)
    assert store.get("http://a:3000")["access_token"] == "tok-a"
    assert store.get("http://b:3000")["access_token"] == "tok-b"
    assert store.remove("http://a:3000") is True
    assert store.get("http://a:3000") is None and store.get("http://b:3000") is not None
    assert store.remove("http://a:3000") is False


def test_url_normalisation():
    assert normalise_url(" http://h:3000/ ") == "http://h:3000"
    assert normalise_url("http://h:3000/api/v1/") == "http://h:3000"


def test_expiry():
    assert is_expired({"expires_at": 100}, now=100) and not is_expired({"expires_at": 100}, now=99)
    assert not is_expired({"expires_at": None}, now=10**12)


def test_logout_forgets_the_token(cli):
    CredentialStore().save("http://127.0.0.1:9", access_token="t", username="u", expires_in=60)
    result = cli("--api-url", "http://127.0.0.1:9", "logout")
    assert result.code == 0 and "Forgot the token" in result.out
    assert CredentialStore().get("http://127.0.0.1:9") is None
    assert cli("--api-url", "http://127.0.0.1:9", "--json", "logout").json() == {
        "api_url": "http://127.0.0.1:9", "logged_out": False, "revoked": False}


def test_no_stored_token_exits_10_without_calling_the_api(cli, monkeypatch):
    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    result = cli("--api-url", "http://127.0.0.1:9", "list")
    assert result.code == exitcodes.UNAUTHORIZED
    assert "not logged in to http://127.0.0.1:9" in result.err and "orchestrator login" in result.err


def test_a_corrupt_credentials_file_is_reported_not_a_traceback(cli, isolated_config: Path):
    path = isolated_config / "orchestrator" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2")
    result = cli("list")
    assert result.code == exitcodes.UNAUTHORIZED and "cannot read" in result.err and "Traceback" not in result.err


def test_login_without_a_terminal_needs_username_and_password_stdin(cli, monkeypatch):
    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    assert cli("login").code == exitcodes.INVALID
    result = cli("login", "-u", "ann")
    assert result.code == exitcodes.INVALID and "--password-stdin" in result.err
    assert cli("login", "-u", "ann", "--password-stdin", stdin="\n").code == exitcodes.INVALID


def _no_network(*args, **kwargs):
    raise AssertionError("the CLI must not call the API here")


def test_credentials_json_shape():
    store = CredentialStore()
    store.save("http://a:1", access_token="tok", username="ann", expires_in=10)
    data = json.loads(store.path.read_text())
    assert data["version"] == 1 and data["tokens"]["http://a:1"]["username"] == "ann"


def test_no_standard_input_at_all_is_not_a_crash(cli, monkeypatch):
    """A CI job or cron entry may run with stdin closed: sys.stdin is None."""
    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    cli.monkeypatch.setattr("sys.stdin", None)
    from orchestrator_cli.main import main

    assert main(["login", "-u", "ann"]) == exitcodes.INVALID
    assert main(["login", "-u", "ann", "--password-stdin"]) == exitcodes.INVALID
