"""`orchestrator`: the operator CLI. Argument parsing, the commands, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from orchestrator.domain.catalogue import Environment, Provider
from orchestrator.domain.lifecycle import DeploymentStatus
from orchestrator.domain.steps import StepStatus
from orchestrator.domain.tokens import MAX_TOKEN_DAYS
from orchestrator.domain.users import Role

from . import __version__, completion, exitcodes, render
from .client import DEFAULT_TIMEOUT_SECONDS, ApiError, Client, NotLoggedIn
from .credentials import CredentialsError, CredentialStore, is_expired, normalise_url
from .intents import IntentError, load_intent, validate
from .watch import StoppedWaiting, WaitTimeout, Watcher

DEFAULT_API_URL = "http://127.0.0.1:3000"
DEPLOYMENT_STATUSES = tuple(status.value for status in DeploymentStatus)
ENVIRONMENTS = tuple(environment.value for environment in Environment)
STEP_STATUSES = tuple(status.value for status in StepStatus)
STEP_PAGE = 50
PROVIDERS = tuple(provider.value for provider in Provider)


class UsageError(Exception):
    """Arguments that parse but cannot be used (exit 2)."""


class MissingLocally(Exception):
    """Something the API's reply does not hold (exit 12, like a 404, but no HTTP status to report)."""


# ---------------------------------------------------------------------------------------------------------------------
# Parsing


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command (`orchestrator --json list` and `orchestrator list --json`).
    Defaults are suppressed so that a later position never resets an earlier one; `_settings` fills them in."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument("--api-url", default=argparse.SUPPRESS, metavar="URL",
                       help=f"the orchestrator (env ORCHESTRATOR_API_URL; default {DEFAULT_API_URL})")
    group.add_argument("--token", default=argparse.SUPPRESS,
                       help="bearer token to use instead of the stored one (env ORCHESTRATOR_TOKEN)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print the API's JSON (or a JSON error object) and nothing else on stdout")
    group.add_argument("--http-timeout", type=_positive_float, default=argparse.SUPPRESS, metavar="SECONDS",
                       help=f"timeout of each HTTP call (default {DEFAULT_TIMEOUT_SECONDS:g})")
    group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="log HTTP calls to stderr and show tracebacks of unexpected errors")
    group.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS,
                       help="no colours or styles (also when NO_COLOR is set)")
    return common


def _positive(convert, noun: str):
    """An argparse type: `convert` the text, and refuse anything not above zero."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError("must be greater than 0")
        return value

    return parse


_positive_float = _positive(float, "a number")
_positive_int = _positive(int, "an integer")


def _identifier(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.strip()


def _wait_options(parser: argparse.ArgumentParser, *, wait_flag: bool = True) -> None:
    if wait_flag:
        parser.add_argument("--wait", action="store_true", help="follow the deployment until it settles")
    parser.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                        help="stop waiting after this long (exit 6; the deployment goes on)")
    parser.add_argument("--interval", type=_positive_float, default=1.0, metavar="SECONDS",
                        help="seconds between polls while waiting (default 1)")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _page_size(text: str) -> int:
    value = _positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError("must be at most 1000")
    return value


def _wave(text: str) -> int:
    """Waves are numbered from 1 for people; the API's are 0-based."""
    return _positive_int(text) - 1


def _step_page_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=STEP_STATUSES, help="only steps in this status")
    p.add_argument("--wave", type=_wave, metavar="N", help="only wave N (the first is 1)")
    p.add_argument("--limit", type=_page_size, default=STEP_PAGE,
                   help=f"steps per page (1-1000, default {STEP_PAGE})")
    pages = p.add_mutually_exclusive_group()
    pages.add_argument("--cursor", type=_identifier, help="the page after the one that printed this cursor")
    pages.add_argument("--all", action="store_true", help="every step, reading page after page")


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="orchestrator", parents=[common], formatter_class=_Formatter, epilog=exitcodes.EPILOG,
        description="Operate the multi-cloud deployment orchestrator through its HTTP API: log in, deploy intents "
                    "and follow them, approve, roll back, scan for drift, export Terraform.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, sub=commands) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common],
                              formatter_class=_Formatter, epilog=exitcodes.EPILOG)

    p = command("login", "Log in and store the token for this API URL")
    p.add_argument("--username", "-u", help="prompted for when missing")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input (else it is prompted for)")
    p.set_defaults(handler=cmd_login)

    command("logout", "Forget the stored token for this API URL").set_defaults(handler=cmd_logout)
    command("whoami", "Show who the stored token belongs to").set_defaults(handler=cmd_whoami)

    p = command("deploy", "Validate an intent locally, submit it, and optionally follow it to the end")
    p.add_argument("intent", metavar="INTENT", help="intent file, .yaml/.yml or .json ('-' reads standard input)")
    p.add_argument("--auto-approve", action="store_true",
                   help="set the intent's auto_approve: true (the server's policy may still require an approval)")
    p.add_argument("--idempotency-key", type=_identifier, metavar="KEY",
                   help="sent as Idempotency-Key (default: a new UUID); re-use it to retry without a duplicate")
    p.add_argument("--dry-run", action="store_true", help="validate locally only; send nothing")
    _wait_options(p)
    p.set_defaults(handler=cmd_deploy)

    p = command("list", "List the deployments of your tenant")
    p.add_argument("--status", choices=DEPLOYMENT_STATUSES)
    p.add_argument("--environment", choices=ENVIRONMENTS)
    p.add_argument("--limit", type=_positive_int, default=50, help="at most this many (1-200, default 50)")
    p.add_argument("--offset", type=int, default=0, help="skip this many (default 0)")
    p.add_argument("--wide", action="store_true", help="full ids, providers and resource counts (wider than 80)")
    p.set_defaults(handler=cmd_list)

    p = command("show", "Show a deployment: state, plan summary, step counts and a page of its steps, approval")
    p.add_argument("id", type=_identifier, metavar="ID")
    _step_page_options(p)
    p.set_defaults(handler=cmd_show)

    p = command("wait", "Follow a deployment until it settles (or reaches --until)")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.add_argument("--until", choices=DEPLOYMENT_STATUSES, action="append",
                   help="also stop (exit 0) at this state, e.g. awaiting_approval; repeatable")
    _wait_options(p, wait_flag=False)
    p.set_defaults(handler=cmd_wait)

    p = command("events", "A deployment's audit trail (every page, unless --limit or --cursor asks for one)")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.add_argument("--limit", type=_page_size, help="one page of at most this many events (1-1000)")
    p.add_argument("--cursor", type=_identifier, help="the page after the one that printed this cursor")
    p.set_defaults(handler=cmd_events)

    p = command("plan", "A deployment's plan (ID: its figures and a table of its steps, a page at a time), or what "
                        "an intent would change now (FILE: .yaml/.json, or - for standard input; nothing is created). "
                        "For FILE the exit code is 0 for no changes, 2 for changes, 1 for any error")
    p.add_argument("id", type=_identifier, metavar="ID|FILE",
                   help="a deployment id (or a unique prefix), or an intent file, or - for standard input")
    _step_page_options(p)
    p.set_defaults(handler=cmd_plan)

    p = command("approve", "Approve a deployment awaiting approval")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.add_argument("--comment", help="kept with the decision")
    p.set_defaults(handler=cmd_approve)

    p = command("reject", "Reject a deployment awaiting approval")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.add_argument("--reason", required=True, type=_identifier, help="why (required)")
    p.set_defaults(handler=cmd_reject)

    p = command("cancel", "Cancel: before execution it stops; while executing it rolls back")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.set_defaults(handler=cmd_cancel)

    p = command("rollback", "Roll back a completed or failed deployment (exit 0 once rolled back with --wait)")
    p.add_argument("id", type=_identifier, metavar="ID")
    _wait_options(p)
    p.set_defaults(handler=cmd_rollback)

    drift = command("drift", "Drift: scan, list reports, remediate")
    drift_commands = drift.add_subparsers(dest="drift_command", metavar="COMMAND", required=True)
    p = command("scan", "Scan a completed deployment for drift now", drift_commands)
    p.add_argument("id", type=_identifier, metavar="DEPLOYMENT_ID")
    p.set_defaults(handler=cmd_drift_scan)
    p = command("reports", "Drift reports of your tenant", drift_commands)
    p.add_argument("--deployment", type=_identifier, metavar="ID", help="only this deployment's")
    p.set_defaults(handler=cmd_drift_reports)
    p = command("remediate", "Create the deployment that restores the expected state (goes through approval)",
                drift_commands)
    p.add_argument("report_id", type=_identifier, metavar="REPORT_ID")
    _wait_options(p)
    p.set_defaults(handler=cmd_drift_remediate)

    token = command("token", "API tokens for machines (CI, scripts): create, list, revoke; use one as "
                             "ORCHESTRATOR_TOKEN")
    token_commands = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    p = command("create", "Create an API token; its secret is printed this once", token_commands)
    p.add_argument("name", type=_identifier, metavar="NAME", help="what it is for, e.g. ci-deploy")
    p.add_argument("--role", required=True, choices=[r.value for r in Role], help="no higher than your own")
    p.add_argument("--expires-in-days", type=_positive_int, default=90,
                   help=f"1-{MAX_TOKEN_DAYS} (default 90)")
    p.set_defaults(handler=cmd_token_create)
    p = command("list", "Your API tokens (never their secrets)", token_commands)
    p.set_defaults(handler=cmd_token_list)
    p = command("revoke", "Revoke one of your API tokens (it stops working within a minute)", token_commands)
    p.add_argument("id", type=_identifier, metavar="TOKEN_ID")
    p.set_defaults(handler=cmd_token_revoke)

    policy = command("policy", "The tenant's policy set: list, show, apply a file, delete (admins write)")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    command("list", "Every policy of your tenant", policy_commands).set_defaults(handler=cmd_policy_list)
    p = command("show", "One policy, by name or id", policy_commands)
    p.add_argument("name", metavar="NAME_OR_ID")
    p.set_defaults(handler=cmd_policy_show)
    p = command("apply", "Create the policy in FILE (YAML or JSON), or replace the one of the same name",
                policy_commands)
    p.add_argument("file", metavar="FILE", help="a policy document, or - for standard input")
    p.set_defaults(handler=cmd_policy_apply)
    p = command("delete", "Remove a policy, by name or id", policy_commands)
    p.add_argument("name", metavar="NAME_OR_ID")
    p.set_defaults(handler=cmd_policy_delete)

    freeze = command("freeze", "Change-freeze windows: list, add, delete (admins)")
    freeze_commands = freeze.add_subparsers(dest="freeze_command", metavar="COMMAND", required=True)
    command("list", "Every freeze window of your tenant", freeze_commands).set_defaults(handler=cmd_freeze_list)
    p = command("add", "Add a one-off (--starts-at, --ends-at) or recurring (--cron, --duration-minutes, "
                       "--timezone) window", freeze_commands)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--reason", required=True)
    p.add_argument("--environment", action="append", dest="environments", default=[],
                   choices=["development", "staging", "production"], help="repeat for several (default: all)")
    p.add_argument("--mode", choices=["block", "queue"], default="block",
                   help="block: a run due inside fails; queue: it waits for the window to close")
    p.add_argument("--starts-at", metavar="ISO8601", help="with an offset, e.g. 2026-12-24T00:00:00+01:00")
    p.add_argument("--ends-at", metavar="ISO8601")
    p.add_argument("--cron", metavar="EXPR", help="five fields, e.g. '0 18 * * 5'")
    p.add_argument("--duration-minutes", type=_positive_int)
    p.add_argument("--timezone", metavar="ZONE", help="IANA, e.g. Europe/Berlin")
    p.set_defaults(handler=cmd_freeze_add)
    p = command("delete", "Remove a freeze window, by name or id", freeze_commands)
    p.add_argument("name", metavar="NAME_OR_ID")
    p.set_defaults(handler=cmd_freeze_delete)

    p = command("terraform", "The deployment as Terraform JSON, one document per provider")
    p.add_argument("id", type=_identifier, metavar="ID")
    p.add_argument("--provider", choices=PROVIDERS, help="only this provider's document")
    p.add_argument("--out", metavar="DIR", help="write <provider>.tf.json files into DIR (created if missing)")
    p.set_defaults(handler=cmd_terraform)

    p = command("completion", "Print a shell completion script: eval \"$(orchestrator completion bash)\", or "
                              "`orchestrator completion fish | source`")
    p.add_argument("shell", choices=completion.SHELLS)
    p.set_defaults(handler=cmd_completion)
    return parser


# ---------------------------------------------------------------------------------------------------------------------
# Context shared by the commands


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        self.debug: bool = bool(getattr(args, "debug", False))
        self.api_url = normalise_url(getattr(args, "api_url", None) or os.environ.get("ORCHESTRATOR_API_URL")
                                     or DEFAULT_API_URL)
        self.timeout: float = getattr(args, "http_timeout", None) or DEFAULT_TIMEOUT_SECONDS
        color = not (getattr(args, "no_color", False) or os.environ.get("NO_COLOR"))
        self.out = _console(sys.stdout, color=color)
        self.err = _console(sys.stderr, color=color)
        self.store = CredentialStore()
        # `plan FILE` answers like `terraform plan -detailed-exitcode`: 0 or 2, and 1 for any error.
        self.plans_a_file = getattr(args, "handler", None) is cmd_plan and plans_a_file(args.id)
        self._stored: dict[str, Any] | None = None
        self.token_source = "none"

    def client(self, *, authenticated: bool = True) -> Client:
        if not self.api_url.startswith(("http://", "https://")):
            raise UsageError(f"--api-url must start with http:// or https://, not {self.api_url!r}")
        token = getattr(self.args, "token", None) or os.environ.get("ORCHESTRATOR_TOKEN")
        self.token_source = "option" if token else "none"
        if not token and authenticated:
            self._stored = self.store.get(self.api_url)
            if self._stored is None:
                raise NotLoggedIn(self.api_url)
            token, self.token_source = self._stored["access_token"], "stored"
        return Client(self.api_url, token, timeout=self.timeout, trace=self.trace if self.debug else None)

    def trace(self, message: str) -> None:
        self.err.print(Text(message, style="dim"))

    @property
    def stored_token_expired(self) -> bool:
        return self.token_source == "stored" and self._stored is not None and is_expired(self._stored)

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """JSON on stdout with --json, else the human rendering."""
        if self.json:
            print_json(data)
        else:
            human()

    def note(self, message: str, style: str = "") -> None:
        """A human remark on stderr (never on stdout, so --json output stays clean)."""
        self.err.print(Text(message, style=style))

    def watcher(self, client: Client, *, terminal_states: frozenset[str] = exitcodes.TERMINAL) -> Watcher:
        interactive = not self.json and stdin_is_terminal() and self.out.is_terminal
        return Watcher(client, self.out, interval=self.args.interval, timeout=self.args.timeout,
                       interactive=interactive, quiet=self.json, terminal_states=terminal_states)


def _console(stream, *, color: bool = True) -> Console:
    # soft_wrap: a message stays one line however long (scripts grep it); markup/emoji off: names and messages
    # from the API are printed as they are, never read as [style] or :emoji: codes.
    console = Console(file=stream, highlight=False, markup=False, emoji=False, soft_wrap=True,
                      **({} if color else {"color_system": None}))
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # a pipe or a log: wide enough for a deployments table without cropping
    return console


def stdin_is_terminal() -> bool:
    """False also when there is no standard input at all (a CI job, a cron entry: sys.stdin is None)."""
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------------------------
# Ids by prefix: lists show 8 characters, so any unique prefix is accepted back

# A prefix is 4 to 35 characters of an id; anything else goes to the API as it is (its 404 says what is wrong).
_PREFIX = re.compile(r"[0-9a-f-]{4,35}", re.IGNORECASE)


def _unique(prefix: str, ids: Sequence[str], kind: str) -> str:
    matches = sorted({i for i in ids if i.lower().startswith(prefix.lower())})
    if not matches:
        raise MissingLocally(f"no {kind} id starts with {prefix!r}")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise UsageError(f"{prefix!r} matches {len(matches)} {kind}s ({shown}): give more characters")
    return matches[0]


def _all_pages(fetch: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = fetch(len(items))
        batch = page.get("items") or []
        items += batch
        if not batch or len(items) >= int(page.get("total") or 0):
            return items


def deployment_id(client: Client, text: str) -> str:
    if not _PREFIX.fullmatch(text):
        return text
    listed = _all_pages(lambda offset: client.list_deployments(limit=200, offset=offset or None))
    return _unique(text, [str(d.get("id")) for d in listed], "deployment")


def _report_id(client: Client, text: str) -> str:
    if not _PREFIX.fullmatch(text):
        return text
    return _unique(text, [str(r.get("id")) for r in client.drift_reports(None).get("items") or []], "drift report")


def _token_id(client: Client, text: str) -> str:
    if not _PREFIX.fullmatch(text):
        return text
    return _unique(text, [str(t.get("id")) for t in client.list_tokens().get("items") or []], "token")


# ---------------------------------------------------------------------------------------------------------------------
# Commands: each returns an exit code


def cmd_login(ctx: Context) -> int:
    args = ctx.args
    username = args.username
    if not username:
        if args.password_stdin or not stdin_is_terminal():
            raise UsageError("--username is required when standard input is not a terminal")
        username = input("Username: ").strip()
    if not username:
        raise UsageError("a username is required")
    if args.password_stdin:
        password = (sys.stdin.readline() if sys.stdin else "").rstrip("\r\n")
    elif stdin_is_terminal():
        password = getpass.getpass("Password: ")
    else:
        raise UsageError("no terminal to prompt for the password on: use --password-stdin")
    if not password:
        raise UsageError("a password is required")
    reply = ctx.client(authenticated=False).login(username, password)
    token = reply.get("access_token") if isinstance(reply, dict) else None
    if not token:
        raise ApiError(502, "the login reply carried no access_token", "bad_reply")
    authenticated = ctx.client(authenticated=False)
    authenticated.token = token
    user = authenticated.me()
    ctx.store.save(ctx.api_url, access_token=token, username=user.get("username", username),
                   expires_in=reply.get("expires_in"))
    summary = {"api_url": ctx.api_url, "user": user, "token_type": reply.get("token_type"),
               "expires_in": reply.get("expires_in"), "credentials_file": str(ctx.store.path)}
    ctx.emit(summary, lambda: ctx.out.print(
        f"Logged in to {ctx.api_url} as {user.get('username')} (role {user.get('role')}, tenant "
        f"{user.get('tenant_id')}); the token expires in {render.duration(reply.get('expires_in'))}."))
    return exitcodes.OK


def cmd_logout(ctx: Context) -> int:
    stored = ctx.store.get(ctx.api_url)
    revoked = False
    if stored is not None:
        try:  # the API revokes the session token; one that expired or an API out of reach is forgotten anyway
            Client(ctx.api_url, stored["access_token"], timeout=ctx.timeout).logout()
            revoked = True
        except ApiError:
            pass
    removed = ctx.store.remove(ctx.api_url)
    ctx.emit({"api_url": ctx.api_url, "logged_out": removed, "revoked": revoked}, lambda: ctx.out.print(
        (f"Logged out of {ctx.api_url}: the token is revoked and forgotten." if revoked
         else f"Forgot the token for {ctx.api_url}.") if removed else f"Not logged in to {ctx.api_url}."))
    return exitcodes.OK


def cmd_whoami(ctx: Context) -> int:
    user = ctx.client().me()
    ctx.emit(user, lambda: ctx.out.print(
        f"{user.get('username')} (role {user.get('role')}, tenant {user.get('tenant_id')}) at {ctx.api_url}"))
    return exitcodes.OK


def cmd_deploy(ctx: Context) -> int:
    args = ctx.args
    intent = load_intent(args.intent)
    if args.auto_approve:
        intent["auto_approve"] = True
    validate(intent)
    if args.dry_run:
        ctx.emit({"valid": True, "intent": intent},
                 lambda: ctx.out.print(f"{args.intent}: valid ({len(intent.get('resources') or [])} resources)."))
        return exitcodes.OK
    client = ctx.client()
    key = args.idempotency_key or str(uuid.uuid4())
    try:
        created = client.create_deployment(intent, key)
    except ApiError as error:
        if error.transient:
            error.message += f" (retry with --idempotency-key {key} to avoid a duplicate deployment)"
        raise
    return _after_start(ctx, client, created, verb="created", wait=args.wait, idempotency_key=key)


def _after_start(ctx: Context, client: Client, started: dict[str, Any], *, verb: str, wait: bool,
                 idempotency_key: str | None = None, rollback: bool = False) -> int:
    deployment_id = str(started.get("id"))
    if not wait:
        def human() -> None:
            ctx.out.print(Text.assemble(f"Deployment {deployment_id} {verb}: ", render.status_text(
                started.get("status"))))
            if idempotency_key:
                ctx.note(f"idempotency key {idempotency_key}", style="dim")
            ctx.note(f"follow it with `orchestrator wait {deployment_id}`", style="dim")
        ctx.emit(started, human)
        return exitcodes.OK
    if not ctx.json:
        ctx.note(f"deployment {deployment_id} {verb}" + (f" (idempotency key {idempotency_key})"
                                                          if idempotency_key else ""), style="dim")
    final = ctx.watcher(client).wait(deployment_id, started if "steps" in started else None)
    return _finish(ctx, final, rollback=rollback)


def _finish(ctx: Context, final: dict[str, Any], *, rollback: bool = False,
            until: frozenset[str] = frozenset()) -> int:
    status = str(final.get("status"))
    if status in until:
        code = exitcodes.OK
    elif rollback:
        code = exitcodes.OK if status == "rolled_back" else exitcodes.for_deployment(final)
    else:
        code = exitcodes.for_deployment(final)

    def human() -> None:
        if not ctx.out.is_terminal:  # the live view already shows it all on a terminal
            ctx.out.print(render.deployment_view(final))
        line = Text.assemble(f"Deployment {final.get('id')} ", render.status_text(status))
        if final.get("error_message") and code:
            line.append(f": {final['error_message']}")
        ctx.err.print(line)
    ctx.emit(final, human)
    return code


def cmd_list(ctx: Context) -> int:
    args = ctx.args
    if args.limit > 200:
        raise UsageError("--limit must be at most 200")
    if args.offset < 0:
        raise UsageError("--offset must not be negative")
    page = ctx.client().list_deployments(status=args.status, environment=args.environment, limit=args.limit,
                                         offset=args.offset or None)
    ctx.emit(page, lambda: ctx.out.print(render.deployments_table(page, wide=args.wide, width=ctx.out.width)))
    return exitcodes.OK


def _step_page(ctx: Context, client: Client, deployment_id: str) -> dict[str, Any]:
    args = ctx.args
    query = {"status": args.status, "wave": args.wave, "limit": args.limit}
    if args.all:
        return client.every(client.steps, deployment_id, **query)
    return client.steps(deployment_id, cursor=args.cursor, **query)


def _more_steps(ctx: Context, deployment: dict[str, Any], page: dict[str, Any], command: str) -> None:
    args = ctx.args
    more = render.more_steps(deployment, page, status=args.status, wave=args.wave, first=not args.cursor,
                             command=command)
    if more:
        ctx.out.print(more)


def cmd_show(ctx: Context) -> int:
    client = ctx.client()
    found = deployment_id(client, ctx.args.id)
    deployment = client.deployment(found)
    page = _step_page(ctx, client, found)

    def human() -> None:
        ctx.out.print(render.deployment_view(deployment, page))
        _more_steps(ctx, deployment, page, "show")
    ctx.emit({**deployment, "step_page": page}, human)
    return exitcodes.OK


def cmd_wait(ctx: Context) -> int:
    until = frozenset(ctx.args.until or ())
    client = ctx.client()
    final = ctx.watcher(client, terminal_states=exitcodes.TERMINAL | until).wait(
        deployment_id(client, ctx.args.id))
    return _finish(ctx, final, until=until)


def cmd_events(ctx: Context) -> int:
    client, args = ctx.client(), ctx.args
    found = deployment_id(client, args.id)
    if args.limit or args.cursor:
        page = client.events(found, limit=args.limit, cursor=args.cursor)
    else:
        page = client.every(client.events, found, limit=1000)

    def human() -> None:
        ctx.out.print(render.events_table(page))
        if page.get("next_cursor"):
            ctx.out.print(Text(f"More events: orchestrator events {found} --cursor {page['next_cursor']}",
                               style="dim"))
    ctx.emit(page, human)
    return exitcodes.OK


INTENT_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


def plans_a_file(target: str) -> bool:
    """`plan` is given an intent (an existing file, a name ending .yaml/.yml/.json, which no id does, or - for
    standard input) rather than a deployment id."""
    return target == "-" or Path(target).suffix.lower() in INTENT_SUFFIXES or Path(target).is_file()


def cmd_plan(ctx: Context) -> int:
    if ctx.plans_a_file:
        return cmd_speculative_plan(ctx)
    client = ctx.client()
    found = deployment_id(client, ctx.args.id)
    deployment = client.deployment(found)
    plan = deployment.get("plan")
    page = _step_page(ctx, client, found) if plan else {"items": [], "next_cursor": None}
    if ctx.json:
        print_json(plan and {**plan, "step_page": page})
    elif not plan:
        ctx.note(f"deployment {ctx.args.id} has no plan yet (it is {deployment.get('status')})", style="yellow")
    else:
        ctx.out.print(render.plan_summary(plan, deployment.get("steps")))
        ctx.out.print(render.plan_steps_table(page.get("items") or []))
        _more_steps(ctx, deployment, page, "plan")
    return exitcodes.OK


def cmd_speculative_plan(ctx: Context) -> int:
    """What the intent would change if deployed now (POST /plans): exit 0 without changes, 2 with."""
    args = ctx.args
    paging = [flag for flag, given in (("--status", args.status), ("--wave", args.wave is not None),
                                       ("--cursor", args.cursor), ("--all", args.all)) if given]
    if paging:
        raise UsageError(f"{', '.join(paging)} page a deployment's steps; an intent's plan is shown whole")
    intent = load_intent(args.id)
    validate(intent)
    plan = ctx.client().speculative_plan(intent).get("plan") or {}
    ctx.emit(plan, lambda: ctx.out.print(render.speculative_plan(plan)))
    changed = any(outcome != "unchanged" for _, outcome, _ in render.resource_outcomes(plan))
    return exitcodes.CHANGES if changed else exitcodes.OK


def _decision(ctx: Context, deployment: dict[str, Any], what: str) -> int:
    ctx.emit(deployment, lambda: ctx.out.print(Text.assemble(f"Deployment {deployment.get('id')} {what}: now ",
                                                             render.status_text(deployment.get("status")))))
    return exitcodes.OK


def cmd_approve(ctx: Context) -> int:
    client = ctx.client()
    return _decision(ctx, client.approve(deployment_id(client, ctx.args.id), ctx.args.comment), "approved")


def cmd_reject(ctx: Context) -> int:
    client = ctx.client()
    return _decision(ctx, client.reject(deployment_id(client, ctx.args.id), ctx.args.reason), "rejected")


def cmd_cancel(ctx: Context) -> int:
    client = ctx.client()
    return _decision(ctx, client.cancel(deployment_id(client, ctx.args.id)), "cancelled")


def cmd_rollback(ctx: Context) -> int:
    client = ctx.client()
    started = client.rollback(deployment_id(client, ctx.args.id))
    return _after_start(ctx, client, started, verb="rolling back", wait=ctx.args.wait, rollback=True)


def cmd_drift_scan(ctx: Context) -> int:
    client = ctx.client()
    report = client.drift_scan(deployment_id(client, ctx.args.id))
    ctx.emit(report, lambda: ctx.out.print(render.drift_report(report)))
    return exitcodes.OK


def cmd_drift_reports(ctx: Context) -> int:
    client = ctx.client()
    page = client.drift_reports(deployment_id(client, ctx.args.deployment) if ctx.args.deployment else None)
    ctx.emit(page, lambda: ctx.out.print(render.drift_reports_table(page)))
    return exitcodes.OK


def cmd_drift_remediate(ctx: Context) -> int:
    client = ctx.client()
    created = client.drift_remediate(_report_id(client, ctx.args.report_id))
    return _after_start(ctx, client, created, verb="created to remediate the drift", wait=ctx.args.wait)


def cmd_token_create(ctx: Context) -> int:
    args = ctx.args
    created = ctx.client().create_token(args.name, args.role, args.expires_in_days)
    ctx.emit(created, lambda: ctx.out.print(
        f"Token {created['id']} ({created['name']}, role {created['role']}, expires {created['expires_at']}):\n"
        f"{created['token']}\nStore it now: it is not shown again. Use it as ORCHESTRATOR_TOKEN."))
    return exitcodes.OK


def cmd_token_list(ctx: Context) -> int:
    page = ctx.client().list_tokens()

    def human() -> None:
        for t in page["items"]:
            state = "revoked" if t.get("revoked_at") else f"expires {render.ago(t['expires_at'])}"
            ctx.out.print(f"{render.short_id(t['id'])}  {t['name']}  {t['role']}  {state}")
        if not page["items"]:
            ctx.out.print("No API tokens.")

    ctx.emit(page, human)
    return exitcodes.OK


def cmd_token_revoke(ctx: Context) -> int:
    client = ctx.client()
    token_id = _token_id(client, ctx.args.id)
    client.revoke_token(token_id)
    ctx.emit({"id": token_id, "revoked": True}, lambda: ctx.out.print(f"Revoked token {token_id}."))
    return exitcodes.OK


def _named(items: list[dict[str, Any]], key: str, what: str) -> dict[str, Any]:
    found = next((i for i in items if key in (i["id"], i["name"])), None)
    if found is None:
        raise ApiError(404, f"no {what} named or with id '{key}'", "not_found")
    return found


def cmd_policy_list(ctx: Context) -> int:
    page = ctx.client().policies()
    ctx.emit(page, lambda: ctx.out.print(render.policies_table(page["items"])))
    return exitcodes.OK


def cmd_policy_show(ctx: Context) -> int:
    policy = _named(ctx.client().policies()["items"], ctx.args.name, "policy")
    ctx.emit(policy, lambda: print_json(policy))
    return exitcodes.OK


def cmd_policy_apply(ctx: Context) -> int:
    document = load_intent(ctx.args.file)
    client = ctx.client()
    existing = next((p for p in client.policies()["items"] if p["name"] == document.get("name")), None)
    if existing is None:
        stored, verb = client.create_policy(document), "created"
    else:
        stored, verb = client.replace_policy(existing["id"], document), "replaced"
    ctx.emit(stored, lambda: ctx.out.print(f"Policy {stored['name']} {verb} ({stored['id']}, "
                                           f"{stored['enforcement']})."))
    return exitcodes.OK


def cmd_policy_delete(ctx: Context) -> int:
    client = ctx.client()
    policy = _named(client.policies()["items"], ctx.args.name, "policy")
    client.delete_policy(policy["id"])
    ctx.emit({"id": policy["id"], "deleted": True}, lambda: ctx.out.print(f"Deleted policy {policy['name']}."))
    return exitcodes.OK


def cmd_freeze_list(ctx: Context) -> int:
    page = ctx.client().freeze_windows()
    ctx.emit(page, lambda: ctx.out.print(render.freeze_windows_table(page["items"])))
    return exitcodes.OK


def cmd_freeze_add(ctx: Context) -> int:
    args = ctx.args
    window = {"name": args.name, "reason": args.reason, "environments": args.environments, "mode": args.mode,
              "starts_at": args.starts_at, "ends_at": args.ends_at, "cron": args.cron,
              "duration_minutes": args.duration_minutes, "timezone": args.timezone}
    created = ctx.client().create_freeze_window({k: v for k, v in window.items() if v is not None})
    ctx.emit(created, lambda: ctx.out.print(f"Freeze window {created['name']} added ({created['id']})."))
    return exitcodes.OK


def cmd_freeze_delete(ctx: Context) -> int:
    client = ctx.client()
    window = _named(client.freeze_windows()["items"], ctx.args.name, "freeze window")
    client.delete_freeze_window(window["id"])
    ctx.emit({"id": window["id"], "deleted": True}, lambda: ctx.out.print(f"Deleted freeze window {window['name']}."))
    return exitcodes.OK


def cmd_terraform(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client()
    args.id = deployment_id(client, args.id)
    documents = client.terraform(args.id)
    if not isinstance(documents, dict):
        raise ApiError(502, "the terraform reply is not an object", "bad_reply")
    if args.provider:
        if args.provider not in documents:
            raise MissingLocally(f"deployment {args.id} has no {args.provider} resources (it uses: "
                                 f"{', '.join(documents) or 'none'})")
        documents = {args.provider: documents[args.provider]}
    if not args.out:
        print_json(documents[args.provider] if args.provider else documents)
        return exitcodes.OK
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        for provider, document in documents.items():
            path = out / f"{provider}.tf.json"
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            written[provider] = str(path)
    except OSError as exc:
        raise UsageError(f"cannot write into {out}: {exc}") from None

    def human() -> None:
        for path in written.values():
            ctx.out.print(f"wrote {path}")
    ctx.emit({"deployment_id": args.id, "files": written}, human)
    return exitcodes.OK


def cmd_completion(ctx: Context) -> int:
    sys.stdout.write(completion.script(ctx.args.shell, build_parser()))
    return exitcodes.OK


# ---------------------------------------------------------------------------------------------------------------------
# Entry point: every error becomes one clear message and an exit code


_LABELS = {400: "malformed request", 401: "unauthorized", 403: "forbidden", 404: "not found", 409: "conflict",
           413: "request too large", 422: "invalid input", 429: "throttled"}


def _report(ctx: Context | None, *, message: str, code: str, exit_code: int, details: Any = None,
            http_status: int | None = None, lines: Sequence[str] = ()) -> int:
    if ctx is not None and ctx.plans_a_file:
        exit_code = exitcodes.PLAN_ERROR
    if ctx is not None and ctx.json:
        body: dict[str, Any] = {"message": message, "code": code}
        if details is not None:
            body["details"] = details
        if http_status:
            body["http_status"] = http_status
        body["exit_code"] = exit_code
        print_json(body)
    else:
        err = ctx.err if ctx is not None else _console(sys.stderr)
        err.print(Text(f"error: {message}", style="bold red"))
        for line in lines:
            err.print(Text(f"  {line}", style="red"))
    return exit_code


def _api_error_message(ctx: Context, error: ApiError) -> tuple[str, list[str]]:
    status = error.status
    if status == 0:
        return error.message, []
    label = _LABELS.get(status) or ("server error" if status >= 500 else "request failed")
    message = f"{label}: {error.message} (HTTP {status})"
    lines = render.field_error_lines(error.details) if status == 422 else []
    if status == 401 and ctx.args.handler is not cmd_login:  # a failed login needs no advice to log in
        hint = "your stored token has expired" if ctx.stored_token_expired else "the token is invalid or expired"
        message += f"; {hint}: run `orchestrator login --api-url {ctx.api_url}`"
    elif status in (429, 503) and error.retry_after:
        message += f"; retry after {error.retry_after}s"
    return message, lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (argparse printed it; exit 2)
        code = exit_.code if isinstance(exit_.code, int) else exitcodes.INVALID
        # Exit 2 means "changes" to a script running `plan FILE`: its usage errors exit 1, as its other errors do.
        return exitcodes.PLAN_ERROR if code and _plan_of_a_file(argv) else code
    ctx: Context | None = None
    try:
        ctx = Context(args)
        return args.handler(ctx)
    except IntentError as error:
        lines = render.field_error_lines(error.details)
        return _report(ctx, message=str(error), code="validation_error" if error.details else "invalid_intent",
                       details=error.details or None, exit_code=exitcodes.INVALID, lines=lines)
    except UsageError as error:
        return _report(ctx, message=str(error), code="usage_error", exit_code=exitcodes.INVALID)
    except MissingLocally as error:
        return _report(ctx, message=f"not found: {error}", code="not_found", exit_code=exitcodes.NOT_FOUND)
    except NotLoggedIn as error:
        return _report(ctx, message=str(error), code="not_logged_in", exit_code=exitcodes.UNAUTHORIZED)
    except CredentialsError as error:
        return _report(ctx, message=str(error), code="credentials_error", exit_code=exitcodes.UNAUTHORIZED)
    except ApiError as error:
        exit_code = exitcodes.UNAVAILABLE if error.status == 0 else exitcodes.for_http_status(error.status)
        message, lines = _api_error_message(ctx, error) if ctx is not None else (error.message, [])
        return _report(ctx, message=message if not (ctx and ctx.json) else error.message, code=error.code,
                       details=error.details, http_status=error.status or None, exit_code=exit_code, lines=lines)
    except WaitTimeout as error:
        if ctx is not None and ctx.json:
            print_json(error.deployment)
        else:
            _report(ctx, message=str(error), code="wait_timeout", exit_code=exitcodes.WAIT_TIMEOUT)
        return exitcodes.WAIT_TIMEOUT
    except StoppedWaiting as stopped:
        _console(sys.stderr).print(Text(str(stopped), style="yellow"))
        return exitcodes.INTERRUPTED
    except KeyboardInterrupt:
        _console(sys.stderr).print(Text("interrupted", style="yellow"))
        return exitcodes.PLAN_ERROR if ctx is not None and ctx.plans_a_file else exitcodes.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`orchestrator list | head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exitcodes.OK
    except Exception as error:  # noqa: BLE001 - the promise: never a traceback unless --debug
        if ctx is not None and ctx.debug:
            traceback.print_exc()
        return _report(ctx, message=f"unexpected {type(error).__name__}: {error} (re-run with --debug for details)",
                       code="internal_error", exit_code=exitcodes.INTERNAL)


def _plan_of_a_file(argv: Sequence[str] | None) -> bool:
    """Whether arguments argparse refused were a `plan` of an intent file: the command, then a file or -."""
    words = list(sys.argv[1:] if argv is None else argv)
    if "plan" not in words:
        return False
    return any(plans_a_file(word) for word in words[words.index("plan") + 1:] if not word.startswith("--"))


if __name__ == "__main__":
    sys.exit(main())

