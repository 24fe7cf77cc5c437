"""API Gateway (REST) in front of the in-process functions, as template.yaml configures it: routes from the API
function's events, the Lambda REQUEST authorizer (its 401/403 gateway responses and the context it hands on),
stage throttling, and proxy events in and out."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .deploy import Deployed
from .template import Resolver, Stack

# (function name, function ARN, event) -> (payload JSON, errored): how the gateway reaches a function.
Invoke = Callable[[str, str, Any], tuple[str, bool]]

# API Gateway's own answers where the template sets no gateway response.
DEFAULT_RESPONSES = {
    "UNAUTHORIZED": (401, {"message": "Unauthorized"}),
    "ACCESS_DENIED": (403, {"message": "User is not authorized to access this resource"}),
    "MISSING_AUTHENTICATION_TOKEN": (403, {"message": "Missing Authentication Token"}),
    "THROTTLED": (429, {"message": "Too Many Requests"}),
    "DEFAULT_5XX": (502, {"message": "Internal server error"}),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    pattern: re.Pattern
    function: str
    public: bool


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class TokenBucket:
    """Stage throttling: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self._tokens, self._at = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


def _pattern(path: str) -> re.Pattern:
    regex = re.sub(r"\\\{[^}]+\\\+\\\}", "(?P<proxy>.+)", re.escape(path))
    regex = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", regex)
    return re.compile(f"^{regex}$")


class ApiGateway:
    def __init__(self, stack: Stack, deployed: Deployed, invoke: Invoke, *, stage: str = "local"):
        self._invoke_function, self._deployed, self.stage = invoke, deployed, stage
        api_id, api = next(iter(stack.of_type("AWS::Serverless::Api").items()))
        props = api["Properties"]
        resolver = Resolver(parameters=stack.parameter_defaults())
        self.api_id = api_id.lower()
        authorizers = props.get("Auth", {}).get("Authorizers", {})
        default = props.get("Auth", {}).get("DefaultAuthorizer")
        self._authorizer = None
        if default:
            function_arn = authorizers[default]["FunctionArn"]
            self._authorizer = function_arn["Fn::GetAtt"][0]
            headers = authorizers[default].get("Identity", {}).get("Headers", ["Authorization"])
            self._identity_headers = [h.lower() for h in headers]
        self.routes: list[Route] = []
        for fn in stack.functions():
            for event in fn.events.values():
                if event.get("Type") != "Api":
                    continue
                ev = event["Properties"]
                public = ev.get("Auth", {}).get("Authorizer") == "NONE" or not default
                self.routes.append(Route(ev["Method"].upper(), ev["Path"], _pattern(ev["Path"]), fn.logical_id,
                                         public))
        # Literal paths win over greedy ones, as in API Gateway.
        self.routes.sort(key=lambda r: ("{" in r.path, -len(r.path)))
        self._responses = {kind: (status, body, {}) for kind, (status, body) in DEFAULT_RESPONSES.items()}
        for kind, spec in (props.get("GatewayResponses") or {}).items():
            template = (spec.get("ResponseTemplates") or {}).get("application/json")
            # Header values are mapping expressions; a static value is a quoted literal: "'Bearer'".
            headers = {name: str(resolver.resolve(value)).strip("'")
                       for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()}
            self._responses[kind] = (int(spec.get("StatusCode", DEFAULT_RESPONSES.get(kind, (500,))[0])),
                                     json.loads(template) if template else DEFAULT_RESPONSES[kind][1], headers)
        throttle = next(iter(props.get("MethodSettings") or []), {})
        rate = float(resolver.resolve(throttle.get("ThrottlingRateLimit", 10000)))
        burst = int(resolver.resolve(throttle.get("ThrottlingBurstLimit", 5000)))
        self.throttle = TokenBucket(rate, burst)

    def _gateway_response(self, kind: str) -> GatewayResponse:
        status, body, headers = self._responses[kind]
        return GatewayResponse(status, {"Content-Type": "application/json", "x-amzn-ErrorType": kind, **headers},
                               json.dumps(body).encode())

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def handle(self, method: str, path: str, *, headers: dict[str, str], query: dict[str, list[str]],
               body: bytes | None, source_ip: str = "127.0.0.1") -> GatewayResponse:
        method = method.upper()
        if not self.throttle.take():
            return self._gateway_response("THROTTLED")
        matched = self._match(method, path)
        if matched is None:
            if method == "OPTIONS":  # CORS preflight is answered by API Gateway's mock integration
                return GatewayResponse(200, {"Access-Control-Allow-Origin": "*",
                                             "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
                                             "Access-Control-Allow-Headers": "Authorization,Content-Type,"
                                                                             "Idempotency-Key,If-Match,"
                                                                             "If-None-Match,X-Correlation-Id"},
                                       b"")
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN")
        route, path_parameters = matched
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            # The path as the client sent it: the local server is reached without the stage in the URL, like a
            # custom domain mapped to the stage (on API Gateway's own endpoint it would start with /{stage}).
            "resourcePath": route.path, "httpMethod": method, "path": path, "stage": self.stage,
            "requestId": request_id, "accountId": self._deployed.identity.account, "apiId": self.api_id,
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", headers.get("User-Agent"))},
        }
        if not route.public:
            decision = self._authorize(route, method, path, headers, query, path_parameters, context)
            if isinstance(decision, GatewayResponse):
                return decision
            context["authorizer"] = decision
        try:
            text = body.decode("utf-8") if body else None
        except UnicodeDecodeError:
            # The API declares no binary media types, so a body must be text; the proxy event cannot carry it.
            return GatewayResponse(400, {"Content-Type": "application/json"}, json.dumps(
                {"message": "the request body is not valid UTF-8", "code": "malformed_request"}).encode())
        event = {
            "resource": route.path, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": dict(query) or None,
            "pathParameters": path_parameters or None, "stageVariables": None, "requestContext": context,
            "body": text, "isBase64Encoded": False,
        }
        payload, errored = self._invoke(route.function, event)
        if errored:
            return self._gateway_response("DEFAULT_5XX")
        result = json.loads(payload)
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        return GatewayResponse(int(result.get("statusCode", 200)), out_headers, data)

    def _invoke(self, logical_id: str, event: dict[str, Any]) -> tuple[str, bool]:
        name = self._deployed.function_names[logical_id]
        return self._invoke_function(name, self._deployed.function_arns[logical_id], event)

    def _authorize(self, route: Route, method: str, path: str, headers: dict[str, str],
                   query: dict[str, list[str]], path_parameters: dict[str, str],
                   context: dict[str, Any]) -> dict[str, Any] | GatewayResponse:
        lowered = {k.lower(): v for k, v in headers.items()}
        if any(not lowered.get(h) for h in self._identity_headers):
            # A missing identity source is refused before the authorizer runs.
            return self._gateway_response("UNAUTHORIZED")
        method_arn = self._deployed.identity.arn("execute-api", f"{self.api_id}/{self.stage}/{method}{path}")
        event = {"type": "REQUEST", "methodArn": method_arn, "resource": route.path, "path": path,
                 "httpMethod": method, "headers": headers, "queryStringParameters": {k: v[-1] for k, v in
                                                                                    query.items()},
                 "pathParameters": path_parameters, "stageVariables": {}, "requestContext": context}
        payload, errored = self._invoke(self._authorizer, event)
        if errored:
            message = json.loads(payload).get("errorMessage")
            return self._gateway_response("UNAUTHORIZED" if message == "Unauthorized" else "DEFAULT_5XX")
        policy = json.loads(payload)
        statements = policy.get("policyDocument", {}).get("Statement", [])
        allowed = any(s.get("Effect") == "Allow" and _covers(s.get("Resource"), method_arn) for s in statements)
        denied = any(s.get("Effect") == "Deny" and _covers(s.get("Resource"), method_arn) for s in statements)
        if denied or not allowed:
            return self._gateway_response("ACCESS_DENIED")
        return {"principalId": policy.get("principalId"), **(policy.get("context") or {})}


def _covers(resources: Any, arn: str) -> bool:
    for resource in resources if isinstance(resources, list) else [resources]:
        regex = "^" + re.escape(str(resource)).replace(r"\*", ".*") + "$"
        if re.match(regex, arn):
            return True
    return False
