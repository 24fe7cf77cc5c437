"""The template's CorsAllowOrigin reaches the API function (CORS_ALLOW_ORIGIN) and its answers."""

import pytest

from orchestrator.api.app import build_app
from orchestrator.settings import get_settings


def _get(app, path: str, origin: str) -> dict:
    event = {"httpMethod": "GET", "path": path, "resource": path, "headers": {"Origin": origin},
             "multiValueHeaders": {"Origin": [origin]}, "queryStringParameters": None,
             "requestContext": {"stage": "dev", "requestId": "r"}, "body": None, "isBase64Encoded": False}
    return app.resolve(event, None)


@pytest.fixture
def origin_env(monkeypatch):
    def use(value: str | None):
        if value is None:
            monkeypatch.delenv("CORS_ALLOW_ORIGIN", raising=False)
        else:
            monkeypatch.setenv("CORS_ALLOW_ORIGIN", value)
        get_settings.cache_clear()
    yield use
    get_settings.cache_clear()


def test_the_configured_origin_is_answered(origin_env):
    origin_env("https://console.example.com")
    response = _get(build_app(), "/health/live", "https://console.example.com")
    assert response["statusCode"] == 200
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in response.get("multiValueHeaders", {}).items()}}
    assert headers["Access-Control-Allow-Origin"] == "https://console.example.com"


def test_another_origin_gets_no_cors_header(origin_env):
    origin_env("https://console.example.com")
    response = _get(build_app(), "/health/live", "https://evil.example.net")
    headers = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
    assert "Access-Control-Allow-Origin" not in headers


def test_without_the_variable_any_origin_is_allowed(origin_env):
    origin_env(None)
    response = _get(build_app(), "/health/live", "https://anywhere.example.org")
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in response.get("multiValueHeaders", {}).items()}}
    assert headers["Access-Control-Allow-Origin"] == "*"
