"""Planning: turn a validated intent and the live inventory into an ordered, estimated, policy-checked plan."""

from .plan import Plan, PlanStep, StepAction
from .planner import build_plan

__all__ = ["Plan", "PlanStep", "StepAction", "build_plan"]
