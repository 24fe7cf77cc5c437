from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import workers

from orchestrator.adapters.postgres.fencing import check_lease
from orchestrator.adapters.redis.client import create_redis
from orchestrator.adapters.redis.locks import RedisLockManager, get_lock_manager
from orchestrator.domain.errors import LockBusy, LockStoreUnavailable, StaleFencingToken
from orchestrator.ports.locks import LockManager, deployment_lock, resource_lock

pytestmark = pytest.mark.integration


def _assert_no_overlap(sections: list[tuple[float, float, int]]) -> None:
    ordered = sorted(sections)
    for (_, left, _), (entered, _, _) in zip(ordered, ordered[1:], strict=False):
        assert entered >= left, "two holders were inside the critical section at once"


def test_adapter_satisfies_the_port(lock_manager):
    assert isinstance(lock_manager, LockManager)
    assert deployment_lock("d-1") == "deployment:d-1"
    assert resource_lock("t1", "aws:s3:logs") == "resource:t1:aws:s3:logs"


def test_acquire_release_extend(lock_manager, redis_client):
    name = deployment_lock("d-1")
    lease = lock_manager.acquire(name, ttl_seconds=2)
    assert lease.fence > 0 and 0 < lease.remaining_seconds() <= 2
    assert 0 < redis_client.pttl(lock_manager.lock_key(name)) <= 2000

    with pytest.raises(LockBusy):
        lock_manager.acquire(name)

    assert lock_manager.extend(lease, ttl_seconds=30)
    assert redis_client.pttl(lock_manager.lock_key(name)) > 2000
    assert lease.remaining_seconds() > 2

    assert lock_manager.release(lease) is True
    assert lock_manager.release(lease) is False  # already released: not ours to delete any more
    assert lock_manager.extend(lease) is False
    assert lock_manager.acquire(name).fence > lease.fence


def test_release_does_not_delete_a_successors_lock(lock_manager):
    first = lock_manager.acquire("deployment:d-2", ttl_seconds=0.1)
    time.sleep(0.2)
    second = lock_manager.acquire("deployment:d-2")

    assert lock_manager.release(first) is False
    with pytest.raises(LockBusy):
        lock_manager.acquire("deployment:d-2")
    assert lock_manager.release(second) is True


def test_fences_increase_per_lock(lock_manager):
    fences = []
    for _ in range(20):
        with lock_manager.hold("resource:t1:x") as lease:
            fences.append(lease.fence)
    assert fences == sorted(fences) and len(set(fences)) == len(fences)


def test_waiting_acquire_gets_the_lock_when_released(lock_manager):
    lease = lock_manager.acquire("deployment:d-3")
    timer = threading.Timer(0.2, lock_manager.release, args=(lease,))
    timer.start()
    started = time.monotonic()
    successor = lock_manager.acquire("deployment:d-3", wait_seconds=5)
    assert 0.15 < time.monotonic() - started < 2
    assert successor.fence > lease.fence
    timer.join()


def test_waiting_acquire_gives_up_after_wait_seconds(lock_manager):
    lock_manager.acquire("deployment:d-4")
    started = time.monotonic()
    with pytest.raises(LockBusy):
        lock_manager.acquire("deployment:d-4", wait_seconds=0.3)
    assert 0.25 < time.monotonic() - started < 1.5


def test_contention_across_threads(lock_manager):
    counter = {"value": 0}
    inside = {"now": 0, "max": 0}
    guard = threading.Lock()

    def work() -> None:
        for _ in range(10):
            with lock_manager.hold("deployment:hot", wait_seconds=30):
                with guard:
                    inside["now"] += 1
                    inside["max"] = max(inside["max"], inside["now"])
                value = counter["value"]
                time.sleep(0.001)
                counter["value"] = value + 1
                with guard:
                    inside["now"] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(work) for _ in range(8)]:
            future.result(timeout=60)

    assert counter["value"] == 80
    assert inside["max"] == 1


def test_contention_across_processes(db, database_url, servers, redis_key_prefix):
    with db.connection() as conn:
        conn.execute("CREATE TABLE counter (n integer NOT NULL)")
        conn.execute("INSERT INTO counter VALUES (0)")

    processes, iterations = 4, 15
    context = multiprocessing.get_context("spawn")
    args = (database_url, servers.redis_url, redis_key_prefix, "deployment:shared", iterations)
    with context.Pool(processes=processes) as pool:
        per_process = pool.starmap_async(workers.increment_under_lock, [args] * processes).get(timeout=120)

    sections = [section for sections in per_process for section in sections]
    with db.connection() as conn:
        assert conn.execute("SELECT n FROM counter").fetchone() == (processes * iterations,)
    _assert_no_overlap(sections)
    fences = [fence for _, _, fence in sorted(sections)]
    assert fences == sorted(fences), "fencing tokens must increase in the order the lock was held"


def test_expired_holders_write_is_rejected(lock_manager, db):
    name = resource_lock("t1", "aws:s3:logs")
    with db.connection() as conn:
        conn.execute("CREATE TABLE bucket (id int PRIMARY KEY, owner text)")
        conn.execute("INSERT INTO bucket VALUES (1, 'nobody')")

    def write(lease, owner: str) -> None:
        with db.transaction() as conn:
            check_lease(conn, lease)
            conn.execute("UPDATE bucket SET owner = %s WHERE id = 1", (owner,))

    stalled = lock_manager.acquire(name, ttl_seconds=0.2)
    write(stalled, "stalled")  # fine while the lease is valid
    time.sleep(0.3)  # ...then it stalls past its TTL
    successor = lock_manager.acquire(name)
    assert successor.fence > stalled.fence
    write(successor, "successor")

    with pytest.raises(StaleFencingToken):
        write(stalled, "stalled again")
    assert lock_manager.extend(stalled) is False
    write(successor, "successor again")  # the current holder may keep writing with its token

    with db.connection() as conn:
        assert conn.execute("SELECT owner FROM bucket").fetchone() == ("successor again",)


def test_redis_stopped_means_lock_store_unavailable_then_recovers(server_control, redis_key_prefix):
    client = create_redis(server_control.redis_url, socket_timeout_seconds=1, connect_timeout_seconds=1)
    locks = RedisLockManager(client, key_prefix=redis_key_prefix)
    before = locks.acquire("deployment:d-5")

    server_control.stop_redis()
    started = time.monotonic()
    with pytest.raises(LockStoreUnavailable):
        locks.acquire("deployment:d-6")
    with pytest.raises(LockStoreUnavailable):
        locks.release(before)
    with pytest.raises(LockStoreUnavailable):
        locks.extend(before)
    assert time.monotonic() - started < 5

    server_control.start_redis()
    # The restarted server has lost every key (in-memory, like a cache node without replicas); the same
    # client reconnects, and the fencing counter still moves forward because it is seeded from the clock.
    after = locks.acquire("deployment:d-5")
    assert after.fence > before.fence
    client.close()


def test_unresponsive_redis_times_out(redis_key_prefix):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        client = create_redis(
            f"redis://127.0.0.1:{listener.getsockname()[1]}/0", socket_timeout_seconds=0.3, connect_timeout_seconds=0.3
        )
        started = time.monotonic()
        with pytest.raises(LockStoreUnavailable):
            RedisLockManager(client, key_prefix=redis_key_prefix).acquire("deployment:d-7")
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_lock_manager_from_settings(app_env, redis_client):
    locks = get_lock_manager()
    with locks.hold("deployment:d-8") as lease:
        assert redis_client.exists(f"{app_env.redis_key_prefix}:lock:{{deployment:d-8}}")
        assert lease.ttl_seconds == app_env.lock_ttl_seconds
