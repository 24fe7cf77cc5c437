"""Blast radius: for every step that updates or destroys a resource, what depends on it, transitively, inside the
intent and across the tenant's inventory (resources of other stacks whose recorded dependencies name it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .plan import PlanStep, StepAction

CHANGING = frozenset({StepAction.UPDATE, StepAction.DESTROY})
# A step's view lists this many dependents, nearest first (a plan of 5,000 updates stays small enough to store);
# its counts cover them all.
LISTED = 10


@dataclass(frozen=True, slots=True)
class Dependent:
    """An inventory record that depends on others: its identifier, what it depends on, where it runs."""

    identifier: str
    dependencies: Sequence[str]
    provider: str
    environment: str
    stack: str | None


def blast_radius(steps: Sequence[PlanStep], environment: str, inventory: Iterable[Dependent],
                 stack: str) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """(one entry per changing step, and per destroyed resource the dependents outside this plan's stack).

    The intent's own dependencies replace what the inventory recorded for the resources it names; records this plan
    destroys depend on nothing any more.
    """
    changing = [s for s in steps if s.action in CHANGING]
    if not changing:
        return [], {}
    step_of = {s.resource_identifier: s for s in steps}
    reverse: dict[str, list[str]] = {}
    for step in steps:
        if step.action is not StepAction.DESTROY:
            for dependency in step.resource["dependencies"]:
                reverse.setdefault(dependency, []).append(step.resource_identifier)
    recorded: dict[str, Dependent] = {}
    for record in inventory:
        if record.identifier not in step_of:
            recorded[record.identifier] = record
            for dependency in record.dependencies:
                reverse.setdefault(dependency, []).append(record.identifier)

    # Only what the changes reach is indexed: a plan touching a few resources pays for their dependents alone.
    roots = [s.resource_identifier for s in changing]
    reached = set(roots)
    pending = list(roots)
    while pending:
        for child in reverse.get(pending.pop(), ()):
            if child not in reached:
                reached.add(child)
                pending.append(child)
    where: dict[str, tuple[str, str, bool]] = {}  # identifier -> (provider, environment, outside this stack)
    for identifier in reached:
        step = step_of.get(identifier)
        if step is not None and step.action is not StepAction.DESTROY:
            where[identifier] = (step.provider, environment, False)
        elif (record := recorded.get(identifier)) is not None:
            where[identifier] = (record.provider, record.environment, record.stack != stack)

    # Descendant sets as bitmasks (Python ints), memoised bottom-up: a union is one OR and a count one bit_count, so
    # 5,000 resources with deep dependency chains stay within milliseconds. Bit i stands for names[-1 - i]: the
    # highest bit is the first name, so the binary text of a mask lists names in order without reversing it.
    names = sorted(reached)
    count = len(names)
    bit_of = {identifier: 1 << (count - 1 - n) for n, identifier in enumerate(names)}
    providers, environments, outsiders = _group_masks(names, where)
    foreign = outsiders.get(True, 0)
    closures: dict[str, int] = {}  # each node's own bit and all its descendants'

    entries, outside = [], {}
    # Dependents come later in step order: from the last step back, each one's children are already memoised.
    for step in reversed(changing):
        root = step.resource_identifier
        children = reverse.get(root)
        if children is None:  # nothing depends on it
            closures[root] = bit_of[root]
            continue
        found = 0
        for child in children:
            closure = closures.get(child)
            if closure is None:  # not seen yet (another stack's record, or a cycle): walk from here
                found = _descendants(root, reverse, bit_of, closures)
                break
            found |= closure
        else:
            closures[root] = found | bit_of[root]
            found &= ~bit_of[root]
        if not found:
            continue
        total = found.bit_count()
        entries.append({"resource": root, "action": step.action.value,
                        "dependents": _nearest(root, reverse, LISTED),
                        "counts": {"total": total,
                                   "by_provider": _counts(found, providers, total),
                                   "by_environment": _counts(found, environments, total)}})
        if step.action is StepAction.DESTROY and (elsewhere := found & foreign):
            outside[root] = _first(elsewhere, names, LISTED)
    entries.reverse()
    return entries, outside


def _group_masks(names: Sequence[str], where: Mapping[str, tuple]) -> list[dict[Any, int]]:
    """Per field of `where` (provider, environment, outside the stack), per value, the mask of the names holding it:
    built as binary text, one int() each."""
    texts: list[dict[Any, bytearray]] = [{}, {}, {}]
    size = len(names)
    for n, name in enumerate(names):
        facts = where.get(name)
        if facts is not None:
            for field, value in enumerate(facts):
                text = texts[field].get(value)
                if text is None:
                    text = texts[field][value] = bytearray(b"0" * size)
                text[n] = 49  # "1"
    return [{key: int(text, 2) for key, text in sorted(group.items(), key=lambda item: str(item[0]))}
            for group in texts]


def _descendants(root: str, reverse: Mapping[str, list[str]], bit_of: Mapping[str, int],
                 closures: dict[str, int]) -> int:
    """The bitmask of everything that depends on `root`, transitively (iterative post-order; a cycle in the
    inventory is cut where it closes). Memoises each visited node's closure (itself and its descendants)."""
    children = reverse.get(root, ())
    if all(child in closures for child in children):
        found = 0
        for child in children:
            found |= closures[child]
        closures[root] = found | bit_of[root]
        return found & ~bit_of[root]
    on_path: set[str] = {root}
    stack: list[tuple[str, int]] = [(root, 0)]
    while stack:
        node, position = stack[-1]
        children = reverse.get(node, ())
        if position < len(children):
            stack[-1] = (node, position + 1)
            child = children[position]
            if child not in closures and child not in on_path:
                on_path.add(child)
                stack.append((child, 0))
            continue
        found = 0
        for child in children:
            found |= closures.get(child, 0)
        closures[node] = found | bit_of[node]
        on_path.discard(node)
        stack.pop()
    return closures[root] & ~bit_of[root]


def _counts(found: int, groups: Mapping[str, int], total: int) -> dict[str, int]:
    if len(groups) == 1:  # one provider or environment in all: every dependent is in it
        return {key: total for key in groups}
    return {key: n for key, mask in groups.items() if (n := (found & mask).bit_count())}


def _first(mask: int, names: Sequence[str], limit: int) -> list[str]:
    """The first `limit` names whose bits are set, found in the mask's binary text by C's find, not bit by bit."""
    bits = format(mask, "b")  # starts at the highest bit set, which stands for names[len(names) - len(bits)]
    offset = len(names) - len(bits)
    listed, position = [], bits.find("1")
    while position >= 0 and len(listed) < limit:
        listed.append(names[offset + position])
        position = bits.find("1", position + 1)
    return listed


def _nearest(root: str, reverse: Mapping[str, list[str]], limit: int) -> list[str]:
    """Up to `limit` dependents, nearest first (breadth-first from the resource): the direct ones are what an
    approver checks first, and listing them costs no walk over the whole set."""
    listed: list[str] = []
    seen = {root}
    frontier = [root]
    while frontier:
        following = []
        for node in frontier:
            for child in reverse.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    listed.append(child)
                    if len(listed) == limit:
                        return listed
                    following.append(child)
        frontier = following
    return listed
