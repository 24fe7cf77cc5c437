"""Drift: how the live cloud differs from what a deployment declared, and the intent that puts it back."""

from .detector import detect_drift
from .remediation import NothingToRemediate, remediation_intent
from .report import DriftItem, DriftReport, DriftSeverity, DriftType

__all__ = [
    "DriftItem",
    "DriftReport",
    "DriftSeverity",
    "DriftType",
    "NothingToRemediate",
    "detect_drift",
    "remediation_intent",
]
