"""Hardening of the lint worker (issue 12): linting never switches off for good.

A worker that keeps dying is restarted with a bounded back-off, forever, and each restart is an event
in the findings log. The real worker process is killed, many times; the back-off schedule is a
parameter of the backend, shortened here so the test stays fast.
"""

from __future__ import annotations

import time

import pytest

from proxy_addon.mitm import backends as proxy_backends
from tests.test_addon_worker import MEETING, proxy, worker_process  # noqa: F401 (the fixture)

SHORT_DELAYS = (0.0, 0.1, 0.2, 0.4)
DEATHS = 9  # more than the 6 in a minute that used to switch linting off for good


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    monkeypatch.setattr(proxy_backends, "RESTART_DELAYS", SHORT_DELAYS)


def test_a_worker_that_keeps_dying_is_restarted_with_back_off_and_each_restart_is_logged(proxy):  # noqa: F811
    proxy.request(MEETING)
    backend = proxy.session.backend
    assert backend.restart_delays == SHORT_DELAYS
    down_for = []
    for death in range(1, DEATHS + 1):
        process = worker_process(proxy)
        process.kill()
        process.wait()
        died = time.monotonic()
        assert proxy.wait_until(lambda p=process: backend.process is not None and backend.process is not p)
        down_for.append(time.monotonic() - died)
        # the new worker is up (it logged its restart) before it dies in turn
        assert proxy.wait_until(lambda n=death: len(proxy.events("worker_restarted")) == n)
    # the back-off grows along the schedule and stays at its last step
    assert min(down_for[3:]) >= SHORT_DELAYS[-1]
    assert proxy.wait_until(lambda: len(proxy.events("worker_restarted")) == DEATHS)
    restarts = proxy.events("worker_restarted")
    assert [event["restart"] for event in restarts] == list(range(1, DEATHS + 1))
    assert [event["delay"] for event in restarts] == [SHORT_DELAYS[min(i, len(SHORT_DELAYS) - 1)] for i in range(DEATHS)]
    assert all(event["status"] == -9 for event in restarts)
    # and linting goes on: findings log, annotations
    flow = proxy.request(MEETING)
    assert proxy.wait_until(lambda: {f["rule"] for f in proxy.findings(flow)} == {"WX101", "WX301", "WX601"})


def test_a_worker_that_stays_up_starts_the_back_off_again(proxy, monkeypatch):  # noqa: F811
    monkeypatch.setattr(proxy_backends, "STABLE_AFTER", 2.0)
    proxy.request(MEETING)
    backend = proxy.session.backend
    for _ in range(3):  # each killed as soon as it is started
        process = worker_process(proxy)
        process.kill()
        process.wait()
        assert proxy.wait_until(lambda p=process: backend.process is not None and backend.process is not p)
    assert backend.deaths_in_a_row == 3
    assert proxy.wait_until(lambda: any(e["restart"] == 3 for e in proxy.events("worker_restarted")))
    assert [e["delay"] for e in proxy.events("worker_restarted") if e["restart"] == 3] == [SHORT_DELAYS[2]]
    proxy.wait_until(lambda: time.monotonic() - backend.spawned_at > 2.2, timeout=5)  # up past STABLE_AFTER
    process = worker_process(proxy)
    process.kill()
    process.wait()
    assert proxy.wait_until(lambda: any(e["restart"] == 4 for e in proxy.events("worker_restarted")))
    (fourth,) = [e for e in proxy.events("worker_restarted") if e["restart"] == 4]
    assert fourth["delay"] == 0.0 and fourth["deaths_in_a_row"] == 1


def test_stopping_during_a_back_off_starts_no_worker(proxy):  # noqa: F811
    proxy.request(MEETING)
    backend = proxy.session.backend
    backend.restart_delays = (5.0,)
    process = worker_process(proxy)
    process.kill()
    process.wait()
    assert proxy.wait_until(lambda: backend.process is None)
    proxy.chain[0].done()
    assert proxy.session.backend is None
    proxy.wait_until(lambda: False, timeout=0.2)
    assert backend.process is None
