"""Cold-start import time of every Lambda handler. Run: `python bench/cold_import.py [--traced]`.

Prints one `cold_import_ms_<handler>: <value>` line per directory in functions/ and `cold_import_ms_max`; the target
is at most 300 ms each. A value is the median, over 7 fresh interpreters (this venv's python), of the time to
`import app` measured inside the child with time.perf_counter, so interpreter start-up is not counted. Each child
sees what Lambda gives a function: the layer (layers/shared) and the function's directory first on sys.path, the
function's directory as working directory, and the template's environment variables that change what is imported
(Globals and the function's own, with placeholder values for ARNs and URLs: importing connects to nothing).

Outside AWS, Powertools turns tracing off; these figures are for that case, as in the local cloud. `--traced`
measures with tracing on, as in AWS with `Tracing: Active` (the X-Ray SDK and its patches are then loaded at import,
which is the cost of the traces, not of the handler).

No database, Redis or AWS endpoint is needed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "shared"
SPAWNS = 7

# The template's Globals that change what a handler loads or configures at import (service name and namespace
# for Powertools, pydantic's plugin lookup, the log level), plus what the Lambda runtime itself sets.
LAMBDA_ENV = {
    "POWERTOOLS_SERVICE_NAME": "orchestrator",
    "POWERTOOLS_METRICS_NAMESPACE": "MultiCloudOrchestrator",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "LOG_LEVEL": "INFO",
    "STAGE": "dev",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "DATABASE_URL": "postgresql://proxy.invalid:5432/orchestrator?sslmode=require",
    "REDIS_URL": "rediss://cache.invalid:6379/0",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:000000000000:stateMachine:deployment",
    "EVENT_BUS_NAME": "domain-events",
    "JWT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt",
}

# Runs in the child: the path as Lambda has it, then the import, timed.
_CHILD = """
import sys, time
sys.path[:0] = [{layer!r}, {function!r}]
started = time.perf_counter()
import app
print(repr((time.perf_counter() - started) * 1000.0))
"""


def handlers() -> list[str]:
    return sorted(p.name for p in FUNCTIONS.iterdir() if (p / "app.py").is_file())


def child_environment(name: str, *, traced: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_", "_"))}
    env.pop("PYTHONPATH", None)
    env.update(LAMBDA_ENV)
    env["AWS_LAMBDA_FUNCTION_NAME"] = name
    if traced:
        env["LAMBDA_TASK_ROOT"] = str(FUNCTIONS / name)  # Powertools enables tracing inside Lambda only
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def import_ms(name: str, *, traced: bool = False) -> float:
    """One fresh interpreter importing the handler `name`; the milliseconds its `import app` took."""
    function = FUNCTIONS / name
    code = _CHILD.format(layer=str(LAYER), function=str(function))
    done = subprocess.run([sys.executable, "-c", code], cwd=function, env=child_environment(name, traced=traced),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"importing functions/{name}/app.py failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(*, traced: bool = False) -> dict[str, float]:
    """Median import milliseconds per handler (`cold_import_ms_<name>`) and their maximum (`cold_import_ms_max`)."""
    figures: dict[str, float] = {}
    for name in handlers():
        import_ms(name, traced=traced)  # writes the bytecode caches, so no spawn pays for compiling
        figures[f"cold_import_ms_{name}"] = round(statistics.median(
            import_ms(name, traced=traced) for _ in range(SPAWNS)), 1)
    figures["cold_import_ms_max"] = max(figures.values())
    return figures


def main(argv: list[str]) -> None:
    figures = measure(traced="--traced" in argv)
    if "--json" in argv:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
