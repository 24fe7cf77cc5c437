#!/usr/bin/env bash
# LocalStack's community runtime on this host (no Docker, no auth token), its Lambda service running our functions
# through the host runtime executor (infra/localstack/host_runtime). Installs what it needs.
#
#   host.sh test [pytest args]   `make test-localstack`: start it on a free loopback port, run tests/localstack
#                                against the stack deployed there, stop it. Fails, never skips, if it does not start.
#   host.sh serve [port]         run it in the foreground on 127.0.0.1:port (4566), for
#                                `AWS_ENDPOINT_URL=http://127.0.0.1:4566 make run` in another terminal.
#
# LocalStack lives in its own venv (its pins clash with ours) on a Python >= 3.13 (localstack-core 2026.3.0
# imports warnings.deprecated); the functions run on python3.12, the runtime template.yaml names. Each is the
# first working one of PYTHON313=... / PYTHON312=..., pythonX.Y on PATH, pyenv's X.Y.*, /usr{,/local}/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${LOCALSTACK_VENV:-.venv-localstack}
VERSION=${LOCALSTACK_VERSION:-2026.3.0}
STATE=.local/localstack
STAMP="$VENV/.installed-$VERSION"

find_python() {  # find_python 3.13 [explicit]
  local want=$1 explicit=${2:-} c
  for c in "$explicit" "$(command -v "python$want" || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want" \
           /usr/local/bin/python"$want" /usr/bin/python"$want"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  echo "test-localstack: no working python$want found (install it, e.g. 'pyenv install $want', or set PYTHON${want/./}=...)" >&2
  return 1
}

py313=$(find_python 3.13 "${PYTHON313:-}")
py312=$(find_python 3.12 "${PYTHON312:-}")
host_runtime_files=$(find infra/localstack/host_runtime -type f -not -path '*/__pycache__/*' -not -path '*.egg-info*' | sort)
if [ ! -f "$STAMP" ] || [ -n "$(find $host_runtime_files -newer "$STAMP")" ]; then
  echo "test-localstack: installing localstack-core $VERSION into $VENV ($("$py313" --version))"
  [ -x "$VENV/bin/python" ] || "$py313" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # The pins LocalStack's own image carries: newer majors of these break its runtime.
  "$VENV/bin/python" -m pip install --quiet "localstack-core[runtime]==$VERSION" "cbor2<6" "pyopenssl<26" \
    "cryptography>=45.0.7,<47" service-identity
  "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps ./infra/localstack/host_runtime
  rm -rf infra/localstack/host_runtime/build infra/localstack/host_runtime/*.egg-info
  touch "$STAMP"
fi

localstack_main() {  # localstack_main PORT: LocalStack in this process (exec)
  local port=$1
  rm -rf "$STATE"; mkdir -p "$STATE/tmp"
  # On loopback only; no DNS server, certificate download or analytics (no network here); state under .local/;
  # Lambda on this host, on python3.12.
  export GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" GATEWAY_SERVER=hypercorn \
         DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 OVERRIDE_IN_DOCKER=0 \
         FILESYSTEM_ROOT="$PWD/$STATE/filesystem" TMPDIR="$PWD/$STATE/tmp" \
         SERVICES=lambda,stepfunctions,events,secretsmanager,iam,sts,logs,s3 \
         LAMBDA_RUNTIME_EXECUTOR=host LAMBDA_HOST_PYTHON312="$py312" LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT=60
  exec "$VENV/bin/python" -m localstack.runtime.main
}

mode=${1:-test}; shift || true
if [ "$mode" = serve ]; then
  echo "LocalStack $VERSION on http://127.0.0.1:${1:-4566} (Ctrl-C stops it)"
  localstack_main "${1:-4566}"
fi
[ "$mode" = test ] || { echo "usage: $0 test [pytest args] | serve [port]" >&2; exit 2; }

port=$("$py313" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
mkdir -p .local
log=.local/localstack.log
echo "test-localstack: starting LocalStack $VERSION on $endpoint (log: $log)"
( localstack_main "$port" ) >"$log" 2>&1 &
localstack=$!
stop_localstack() {
  kill -TERM "$localstack" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$localstack" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$localstack" 2>/dev/null || true
}
trap stop_localstack EXIT

for attempt in $(seq 1 240); do
  if ! kill -0 "$localstack" 2>/dev/null; then
    echo "test-localstack: LocalStack exited during startup:" >&2; tail -40 "$log" >&2; exit 1
  fi
  if "$py313" -c "import urllib.request, sys; urllib.request.urlopen('$endpoint/_localstack/health', timeout=2)" 2>/dev/null; then
    break
  fi
  if [ "$attempt" = 240 ]; then
    echo "test-localstack: LocalStack did not answer within 120s:" >&2; tail -40 "$log" >&2; exit 1
  fi
  sleep 0.5
done
echo "test-localstack: LocalStack ready; running tests/localstack"

status=0
ORCH_LOCALSTACK_ENDPOINT="$endpoint" .venv/bin/python -m pytest -q tests/localstack "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "test-localstack: failed; the end of LocalStack's log:" >&2; tail -60 "$log" >&2
fi
exit "$status"
