"""Dependency graphs: topological waves in O(V+E) and readable cycle paths. Pure, shared by validation and planning."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


class CycleDetected(ValueError):
    def __init__(self, path: list[Hashable]):
        self.path = path
        super().__init__("dependency cycle: " + " -> ".join(str(node) for node in path))


def topological_waves(nodes: Sequence[N], dependencies: Mapping[N, Sequence[N]]) -> list[list[N]]:
    """Group nodes into waves: every node's dependencies sit in earlier waves, each node as early as possible.

    `dependencies[n]` lists the nodes `n` depends on (unknown ones are ignored: validation reports them).
    The wave count equals the number of nodes on the longest dependency path. Order inside a wave follows `nodes`.
    """
    position = {node: i for i, node in enumerate(nodes)}
    indegree = [0] * len(nodes)
    dependants: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        for dep in dependencies.get(node, ()):
            j = position.get(dep)
            if j is None:
                continue
            indegree[i] += 1
            dependants[j].append(i)

    current = [i for i, degree in enumerate(indegree) if degree == 0]
    waves: list[list[N]] = []
    placed = 0
    while current:
        waves.append([nodes[i] for i in current])
        placed += len(current)
        following: list[int] = []
        for i in current:
            for k in dependants[i]:
                indegree[k] -= 1
                if indegree[k] == 0:
                    following.append(k)
        following.sort()
        current = following

    if placed != len(nodes):
        raise CycleDetected(_find_cycle([nodes[i] for i, degree in enumerate(indegree) if degree > 0], dependencies,
                                        position))
    return waves


def _find_cycle(remaining: list[N], dependencies: Mapping[N, Sequence[N]],
                             position: Mapping[N, int]) -> list[N]:
    """Walk dependency edges inside the unresolved set until a node repeats; that loop is a cycle."""
    unresolved = set(remaining)
    node = remaining[0]
    seen: dict[N, int] = {}
    path: list[N] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(dep for dep in dependencies.get(node, ()) if dep in unresolved and dep in position)
    cycle = path[seen[node]:]
    # Report in "a depends on b" order, closed: a -> b -> ... -> a
    return [*cycle, cycle[0]]
