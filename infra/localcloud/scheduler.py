"""EventBridge schedules for the local cloud: each rule fires its target on its rate or cron expression."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta

from .cloud import LocalCloud
from .deploy import EventRule, Schedule

log = logging.getLogger(__name__)
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> int | None:
    found = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip())
    if not found or found.group(2) not in _UNITS:
        return None
    return int(found.group(1)) * _UNITS[found.group(2)]


def _field_matches(field: str, value: int) -> bool:
    if field in ("*", "?"):
        return True
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part in ("*", "?"):
            low, high = 0, 59
        elif "-" in part:
            low, high = (int(x) for x in part.split("-"))
        else:
            low = high = int(part)
        if low <= value <= high and (value - low) % step == 0:
            return True
    return False


def next_cron(expression: str, after: datetime) -> datetime | None:
    """Next minute matching an EventBridge cron(min hour day-of-month month day-of-week year), in UTC."""
    found = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if not found:
        return None
    fields = found.group(1).split()
    if len(fields) != 6:
        return None
    minute, hour, dom, month, dow, _year = fields
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        weekday = (moment.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday
        if (_field_matches(minute, moment.minute) and _field_matches(hour, moment.hour)
                and _field_matches(dom, moment.day) and _field_matches(month, moment.month)
                and _field_matches(dow, weekday)):
            return moment
        moment += timedelta(minutes=1)
    return None


class Scheduler:
    def __init__(self, cloud: LocalCloud):
        self._cloud = cloud
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Scheduler:
        for schedule in self._cloud.deployed.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), name=f"schedule-{schedule.rule_name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        for rule in self._cloud.deployed.event_rules:
            if rule.queue_url:
                thread = threading.Thread(target=self._forward, args=(rule,), name=f"rule-{rule.rule_name}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def _forward(self, rule: EventRule) -> None:
        """Events the rule matched (moto puts them in its queue) go to the rule's function, as EventBridge would
        invoke it asynchronously."""
        sqs = self._cloud.emulator.client("sqs")
        name = self._cloud.deployed.function_for(rule.function_logical_id)
        arn = self._cloud.deployed.function_arns[rule.function_logical_id]
        while not self._stop.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=rule.queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=1).get("Messages", [])
            except Exception:  # the emulator stopping under us
                if self._stop.wait(1):
                    return
                continue
            for message in messages:
                sqs.delete_message(QueueUrl=rule.queue_url, ReceiptHandle=message["ReceiptHandle"])
                try:
                    payload, errored = self._cloud.emulator.invoke(name, arn, json.loads(message["Body"]))
                    if errored:
                        log.warning("rule %s: %s failed: %s", rule.rule_name, name, payload[:500])
                except Exception:  # one bad event must not stop the others
                    log.exception("rule %s: invoking %s failed", rule.rule_name, name)

    def _due(self, schedule: Schedule) -> float | None:
        seconds = rate_seconds(schedule.expression)
        if seconds is not None:
            return seconds
        upcoming = next_cron(schedule.expression, datetime.now(UTC))
        return (upcoming - datetime.now(UTC)).total_seconds() if upcoming else None

    def _run(self, schedule: Schedule) -> None:
        while not self._stop.is_set():
            wait = self._due(schedule)
            if wait is None:
                log.warning("schedule %s: cannot read %r; not firing it", schedule.rule_name, schedule.expression)
                return
            if self._stop.wait(wait):
                return
            started = time.monotonic()
            try:
                result = self._cloud.fire_schedule(schedule)
                log.info("schedule %s fired in %.1fs: %s", schedule.rule_name, time.monotonic() - started, result)
            except Exception:  # a failed run must not stop the schedule
                log.exception("schedule %s failed", schedule.rule_name)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
