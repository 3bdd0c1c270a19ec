"""Options and fixtures of the conformance suite (README.md in this folder explains them)."""

from __future__ import annotations

import collections
import os

import pytest
import zmq

from broker_process import BrokerProcess
from peers import Session

# What the suite's own broker (--broker-bin) is started with: short enough that liveness,
# timeouts and retention are seen within seconds.
OWN_BROKER_FLAGS = ["--heartbeat", "200ms", "--liveness", "10", "--result-ttl", "3s", "--drain-timeout", "0"]
OWN_RESULT_TTL_MS = 3000


def pytest_addoption(parser):
    group = parser.getgroup("corsair conformance")
    group.addoption("--producers", help="producer endpoint of a running broker, e.g. tcp://127.0.0.1:5555")
    group.addoption("--workers", help="worker endpoint of a running broker, e.g. tcp://127.0.0.1:5556")
    group.addoption("--broker-bin", help="a corsair-broker binary to start instead (on ephemeral ports, "
                                         "with short heartbeats and result TTL); also enables the tests "
                                         "that need a broker with small limits")
    group.addoption("--result-ttl-ms", type=int,
                    help="the running broker's result TTL in ms (--result-ttl); without it the expiry test is skipped")
    group.addoption("--timeout", type=float, default=5.0,
                    help="seconds to wait for each expected message (default 5), times CORSAIR_TEST_TIME_SCALE")
    group.addoption("--by-section", action="store_true", help="print the number of tests per protocol.md section")


def pytest_configure(config):
    config.addinivalue_line("markers", "spec(section): the protocol.md section the test checks")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("spec") is None:
            raise pytest.UsageError(f"{item.nodeid} does not name the protocol.md section it checks (@spec)")


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("--by-section"):
        return
    counts = collections.Counter()
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []) + \
            terminalreporter.stats.get("xfailed", []) + terminalreporter.stats.get("skipped", []) + \
            terminalreporter.stats.get("xpassed", []):
        if report.when in ("call", "setup") and hasattr(report, "spec_section"):
            counts[report.spec_section] += 1
    terminalreporter.write_sep("-", "tests per protocol.md section")
    for section in sorted(counts, key=lambda s: [int(x) for x in s.split(".")]):
        terminalreporter.write_line(f"§{section}: {counts[section]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("spec")
    if marker is not None and (report.when == "call" or report.skipped):
        report.spec_section = marker.args[0]


def time_scale() -> float:
    try:
        return max(1.0, float(os.environ.get("CORSAIR_TEST_TIME_SCALE", "1")))
    except ValueError:
        return 1.0


class BrokerUnderTest:
    """Where the broker under test listens, and what the suite knows of its settings."""

    def __init__(self, producers, workers, result_ttl_ms, process=None):
        self.producers = producers
        self.workers = workers
        self.result_ttl_ms = result_ttl_ms
        self.process = process


@pytest.fixture(scope="session")
def zmq_context():
    context = zmq.Context()
    yield context
    context.term()


@pytest.fixture(scope="session")
def broker(request):
    binary = request.config.getoption("--broker-bin")
    producers = request.config.getoption("--producers")
    workers = request.config.getoption("--workers")
    if binary and not (producers or workers):
        process = BrokerProcess(binary, OWN_BROKER_FLAGS)
        yield BrokerUnderTest(process.producers, process.workers, OWN_RESULT_TTL_MS, process)
        process.stop()
        return
    if not (producers and workers):
        raise pytest.UsageError("give --producers and --workers of a running broker, or --broker-bin")
    yield BrokerUnderTest(producers, workers, request.config.getoption("--result-ttl-ms"))


@pytest.fixture
def session(broker, zmq_context, request):
    timeout = request.config.getoption("--timeout") * time_scale()
    own = Session(zmq_context, broker.producers, broker.workers, timeout)
    yield own
    own.close()


@pytest.fixture
def start_broker(request, zmq_context):
    """Starts a broker of the suite's own with extra flags (small limits); skips without --broker-bin."""
    binary = request.config.getoption("--broker-bin")
    if not binary:
        pytest.skip("needs --broker-bin: starts a broker with small limits of its own")
    started = []
    sessions = []

    def start(*flags):
        overridden = set(flags[0::2])
        own = [x for pair in zip(OWN_BROKER_FLAGS[0::2], OWN_BROKER_FLAGS[1::2]) if pair[0] not in overridden
               for x in pair]
        process = BrokerProcess(binary, own + list(flags))
        started.append(process)
        session = Session(zmq_context, process.producers, process.workers,
                          request.config.getoption("--timeout") * time_scale())
        session.broker_process = process
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()
    for process in started:
        process.stop()
