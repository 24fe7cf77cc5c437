"""`orchestrator`: the operator CLI of the multi-cloud deployment orchestrator, over its public HTTP API."""

__version__ = "0.1.0"
