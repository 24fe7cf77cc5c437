"""The orchestrator: domain, planning, use cases, ports and adapters, shared by every Lambda function."""

from .submodules import import_by_submodule

# Their __init__ files import every resolver, event class and persistence layer Powertools has, or (ours) the
# whole planner, simulator and drift detector for one model; a function loads only the modules it uses (ADR 0025).
import_by_submodule("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.idempotency",
                    "aws_lambda_powertools.utilities.data_classes",
                    "orchestrator.planning", "orchestrator.cloud", "orchestrator.drift")
