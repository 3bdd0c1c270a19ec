"""Python clients beside the C++ ones: the corsair CLI feeding Python workers and reading what
a Python producer submitted, and CURVE keys made by corsair keygen."""

import shutil
import time

import pytest

import corsair
from conftest import scaled, wait_registered, wait_until


def test_corsair_submit_file_pipelines_jobs_to_python_workers_and_waits_for_every_result(cluster, tmp_path):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("lines", "w1", capacity=2)
    cluster.py_worker("lines", "w2", capacity=2)
    wait_registered(cluster, "w1", "w2")
    lines = tmp_path / "jobs.txt"
    lines.write_text("".join(f"line {i}\n" for i in range(50)))
    done = cluster.cli("submit", "lines", "--file", str(lines), "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"done"') == 50
    stats = cluster.stats()
    assert stats.queue("lines")["done"] == 50
    assert stats.worker("w1")["done"] + stats.worker("w2")["done"] == 50


def test_corsair_status_shows_a_python_workers_progress_and_corsair_result_reads_a_python_producers_job(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "py")
    producer = cluster.producer()
    job_id = producer.submit("q", "progress:3000")
    seen = []
    wait_until(lambda: seen.extend(e for e in producer.events(0.1) if isinstance(e, corsair.Progress)) or seen, 10,
               "a progress event")
    assert seen[0].percent == 40
    status = cluster.cli("status", job_id)
    assert status.returncode == 0 and "40%" in status.stdout and "forty" in status.stdout, status.stdout
    assert producer.wait(job_id, scaled(10)).ok
    result = cluster.cli("result", job_id)
    assert result.returncode == 0 and result.stdout == "py:progress:3000"


def test_jobs_submitted_by_the_cli_reach_a_python_worker_that_fails_them_for_good(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "py")
    wait_registered(cluster, "py")
    done = cluster.cli("submit", "q", "permanent", "--wait")
    assert done.returncode == 1 and "this job can never succeed" in (done.stdout + done.stderr)


def keygen(cluster, directory, name, role=None):
    args = ["keygen", name, "--dir", str(directory)] + (["--role", role] if role else [])
    made = cluster.cli(*args)
    assert made.returncode == 0, made.stderr
    return directory / f"{name}.key", directory / f"{name}.key_secret"


def test_with_curve_on_python_clients_holding_allowed_keys_run_jobs_and_an_unknown_or_wrong_key_gets_nothing(cluster, tmp_path):
    keys, allowed = tmp_path / "keys", tmp_path / "allowed"
    keys.mkdir()
    allowed.mkdir()
    broker_public, broker_secret = keygen(cluster, keys, "broker")
    for name, role in (("host1", "worker"), ("billing", "admin"), ("shop", "producer"), ("stranger", "producer")):
        public, _ = keygen(cluster, keys, name, role)
        if name != "stranger":
            shutil.copy(public, allowed / public.name)
    cluster.start_broker("--data-dir", "", "--curve-secret-key", str(broker_secret), "--allowed-keys", str(allowed))
    worker_keys = corsair.CurveKeys.from_files(str(broker_public), str(keys / "host1.key_secret"))
    cluster.py_worker("secure", "w", curve=worker_keys)
    producer = cluster.producer(curve=corsair.CurveKeys.from_files(str(broker_public), str(keys / "billing.key_secret")))
    assert producer.run("secure", "secret", timeout=scaled(10)).result == b"w:secret"
    assert producer.stats().worker("w")["key"] == "host1"
    shop = corsair.CurveKeys.from_files(str(broker_public), str(keys / "shop.key_secret"))
    with corsair.Producer(cluster.broker.producers, curve=shop) as submitter:
        job = submitter.run("secure", "from the shop", timeout=scaled(10))
        assert job.ok
        with pytest.raises(corsair.AccessDenied) as refused:
            submitter.cancel(job.id)  # a producer key may submit, not administer
        assert refused.value.code == "forbidden"
    stranger = corsair.CurveKeys.from_files(str(broker_public), str(keys / "stranger.key_secret"))
    with corsair.Producer(cluster.broker.producers, curve=stranger) as outsider:
        with pytest.raises(corsair.BrokerTimeout) as unknown:
            outsider.stats(timeout=1.0)
        assert "--allowed-keys" in str(unknown.value)
    # The wrong server key: the handshake fails without a word, so the client gives up within its
    # timeout and says what to check.
    wrong_server = corsair.CurveKeys.from_files(str(keys / "shop.key"), str(keys / "billing.key_secret"))
    with corsair.Producer(cluster.broker.producers, curve=wrong_server) as lost:
        started = time.monotonic()
        with pytest.raises(corsair.BrokerTimeout) as silent:
            lost.stats(timeout=1.0)
        assert time.monotonic() - started < scaled(5)
        assert "server key is not the broker's public key" in str(silent.value)


def test_keys_written_by_pyzmqs_zmq_auth_serve_the_broker_and_the_cli_and_keygens_load_in_pyzmq(cluster, tmp_path):
    """protocol/curve.hpp says corsair keygen's files are czmq's zcert format: checked here against
    the files another implementation writes and reads (pyzmq's zmq.auth, which follows czmq)."""
    import zmq.auth

    keys, allowed = tmp_path / "keys", tmp_path / "allowed"
    keys.mkdir()
    allowed.mkdir()
    server_public, server_secret = zmq.auth.create_certificates(str(keys), "broker")
    ops_public, ops_secret = zmq.auth.create_certificates(str(keys), "ops", metadata={"role": "admin"})
    # pyzmq writes metadata into the secret file only; the public one gets its role by hand, as
    # docs/security.md tells (an unquoted value, as pyzmq writes its own).
    text = open(ops_public).read()
    assert "\nmetadata\ncurve\n" in text
    (allowed / "ops.key").write_text(text.replace("\nmetadata\n", "\nmetadata\n    role = admin\n"))
    cluster.start_broker("--data-dir", "", "--curve-secret-key", server_secret, "--allowed-keys", str(allowed))
    stats = cluster.cli("stats", "--json", "--curve-server-key", server_public, "--curve-key", ops_secret)
    assert stats.returncode == 0, stats.stderr
    submitted = cluster.cli("submit", "q", "x", "--curve-server-key", server_public, "--curve-key", ops_secret)
    assert submitted.returncode == 0, submitted.stderr

    made_public, made_secret = keygen(cluster, keys, "host1", "worker")
    public, secret = zmq.auth.load_certificate(str(made_secret))
    assert (public, zmq.auth.load_certificate(str(made_public))[0]) == (zmq.curve_public(secret), public)
    assert corsair.CurveKeys.from_files(str(server_public), str(made_secret)).public == public.decode()
