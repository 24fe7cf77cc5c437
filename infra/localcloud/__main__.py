"""`python -m localcloud` (what `make run` starts): the whole orchestrator on this machine, in the foreground.

Embedded PostgreSQL and Valkey (unless DATABASE_URL / REDIS_URL are set), the AWS emulator on 127.0.0.1:4566 with
template.yaml deployed into it, the REST API on http://127.0.0.1:3000, and the EventBridge schedules. Ctrl-C stops
everything.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from .cloud import LocalCloud
from .servers import LOOPBACK, default_data_dir, start_servers, write_private
from .targets import RemoteAws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("ORCH_API_PORT", 3000)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("ORCH_AWS_PORT", 4566)))
    parser.add_argument("--data-dir", default=os.environ.get("ORCH_DATA_DIR") or str(default_data_dir()),
                        help="where PostgreSQL and Valkey keep their data between runs (delete it to reset)")
    parser.add_argument("--log-level", default=os.environ.get("ORCH_LOG_LEVEL", "WARNING"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("LOG_LEVEL", args.log_level.upper())

    for port, variable, flag in ((args.api_port, "ORCH_API_PORT", "--api-port"),
                                 (args.aws_port, "ORCH_AWS_PORT", "--aws-port")):
        if port and not _port_free(port):
            print(f"port {port} on {LOOPBACK} is in use (another `make run`?): stop that, or set {variable} "
                  f"to a free port, e.g. `{variable}={port + 1} make run` ({flag})", file=sys.stderr)
            return 1

    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    remote = os.environ.get("AWS_ENDPOINT_URL")
    if remote and not os.environ.get("LAMBDA_DATABASE_URL"):
        # Right for LocalStack's host runtime; its Docker containers need LAMBDA_*_URL they can reach.
        print("functions use this machine's loopback URLs for PostgreSQL and Valkey (LocalStack on this host; with "
              "Docker set LAMBDA_DATABASE_URL / LAMBDA_REDIS_URL, see infra/localstack/README.md)", file=sys.stderr)
    servers = start_servers(args.data_dir)
    cloud = LocalCloud(database_url=servers.database_url, redis_url=servers.redis_url, aws_port=args.aws_port,
                       api_port=args.api_port, secrets_file=Path(args.data_dir) / "local-secrets.json",
                       target=RemoteAws(remote, os.environ.get("AWS_REGION", "us-east-1")) if remote else None,
                       lambda_database_url=os.environ.get("LAMBDA_DATABASE_URL"),
                       lambda_redis_url=os.environ.get("LAMBDA_REDIS_URL"))
    try:
        cloud.start()
        _banner(cloud, args.data_dir, time.monotonic() - started)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        # Taken between the check above and the bind.
        print(f"a port was taken while starting ({exc.strerror}): set ORCH_API_PORT / ORCH_AWS_PORT to free "
              "ports and run again", file=sys.stderr)
        return 1
    finally:
        print("\nstopping...", file=sys.stderr)
        cloud.stop()
        servers.close()
    return 0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no conflict
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _banner(cloud: LocalCloud, data_dir: str, seconds: float) -> None:
    admin = cloud.admin_credentials()
    # Also in a file only its owner can read, for scripts: `orchestrator login --password-stdin < <file>`.
    password_file = Path(data_dir) / "admin-password"
    write_private(password_file, admin["password"] + "\n")
    api = cloud.api
    schedules = ", ".join(f"{s.rule_name} [{s.expression}]" for s in cloud.deployed.schedules)
    if cloud.scheduler is None:
        schedules += "   (fired by the endpoint's EventBridge)"
    print(f"""
Multi-cloud deployment orchestrator: local cloud ready in {seconds:.1f}s

  API            {api.url}/api/v1        health: {api.url}/health/ready
  Console        {api.url}/console/
  Swagger UI     {api.url}/docs          OpenAPI: {api.url}/openapi.json
  AWS endpoint   {cloud.emulator.endpoint_url}   (Step Functions, Lambda, EventBridge, Secrets Manager)
  State machine  {cloud.state_machine_arn}
  Schedules      {schedules}
                 fire now: curl -X POST {api.url}/_local/schedules/<rule>/fire
  Admin          username {admin['username']}   password {admin['password']}   (also in {password_file})
  Data           {data_dir}   (stop, then delete it to start afresh)

In another terminal:
  export ORCHESTRATOR_API_URL={api.url}
  .venv/bin/orchestrator login --username {admin['username']}

Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
