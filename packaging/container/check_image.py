#!/usr/bin/python3
"""Runs Corsair's container image as containers and checks that it works (docs/container.md):
the broker's default command with and without its secrets, three workers, `corsair submit --wait`,
HTTP with and without a token, SIGTERM, the journal in the volume and a restart on it.

Two ways to start a container, one set of checks:
  podman  `podman run` (packaging/container/build-and-check.sh says which podman flags work where
          the defaults do not). The broker runs with --network none; workers and clients join its
          network (--network container:BROKER), as containers of one pod do.
  chroot  for a machine where no runtime works: the image's root filesystem (buildah from +
          buildah mount) and its config. This script must then run in a network and mount
          namespace of its own (`unshare --net --mount`), which stands for the container's
          network. Each program gets a PID namespace with the image's ENTRYPOINT as PID 1, /proc,
          its own hostname, a minimal /dev, and runs chrooted as the image's USER in its WORKDIR
          with its Env.
          What a runtime adds and this does not: cgroups, seccomp, dropped capabilities (uid
          10001 holds none anyway), a network per container, and mounts private to a container.

Usage: check_image.py podman IMAGE SCRATCH
       check_image.py chroot ROOTFS IMAGE_INSPECT_JSON SCRATCH
"""
import json
import os
import pathlib
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 45  # longer than the broker's default 30 s drain
COMMAND_TIMEOUT_S = 60
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
PODMAN = shlex.split(os.environ.get("CORSAIR_PODMAN", "podman --storage-driver vfs"))
PODMAN_RUN_FLAGS = shlex.split(os.environ.get("CORSAIR_PODMAN_RUN_FLAGS", ""))


class Container:
    """One long-running program of the image; its output goes to SCRATCH/NAME.out and .err."""

    def __init__(self, runtime, name, argv):
        self.runtime = runtime
        self.name = name
        self.out_path = runtime.scratch / f"{name}.out"
        self.err_path = runtime.scratch / f"{name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    def wait_for_line(self, prefix, timeout_s=READY_TIMEOUT_S):
        """The first stdout line starting with prefix; None if the program exits or the deadline passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.out_path.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def wait_exit(self, timeout_s):
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """As `podman stop` does: SIGTERM to PID 1, then its exit status; None (and killed) past the deadline."""
        if self.process.poll() is None:
            self.runtime.send_sigterm(self)
        status = self.wait_exit(STOP_TIMEOUT_S)
        if status is None:
            self.kill()
        return status

    def kill(self):
        if self.process.poll() is None:
            self.runtime.kill(self)
            self.process.wait()

    def stderr_tail(self, lines=5):
        return "\n".join(self.err_path.read_text(errors="replace").splitlines()[-lines:])


class PodmanRuntime:
    def __init__(self, image, scratch):
        self.image = image
        self.scratch = scratch
        self.suffix = uuid.uuid4().hex[:8]
        self.volume = f"corsair-check-{self.suffix}"
        self.broker_name = None
        self.names = []

    def setup(self):
        subprocess.run([*PODMAN, "volume", "create", self.volume], check=True, stdout=subprocess.DEVNULL)

    def _argv(self, name, command, mounts, is_broker, joins_broker):
        argv = [*PODMAN, "run", "--rm", "--name", name, *PODMAN_RUN_FLAGS]
        argv += ["--network", f"container:{self.broker_name}" if joins_broker else "none"]
        if is_broker:
            argv += ["-v", f"{self.volume}:/var/lib/corsair"]
        for host, target, read_only in mounts:
            argv += ["-v", f"{host}:{target}" + (":ro" if read_only else "")]
        return argv + [self.image] + list(command or [])

    def start(self, name, command=None, mounts=(), is_broker=False):
        name = f"{name}-{self.suffix}"
        self.names.append(name)
        if is_broker:
            self.broker_name = name
        return Container(self, name, self._argv(name, command, mounts, is_broker, not is_broker))

    def run(self, command, mounts=(), joins_broker=True):
        return self._argv(f"run-{uuid.uuid4().hex[:8]}", command, mounts, False, joins_broker)

    def init_pid(self, container):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and container.process.poll() is None:
            done = subprocess.run([*PODMAN, "inspect", "--format", "{{.State.Pid}}", container.name],
                                  capture_output=True, text=True)
            if done.returncode == 0 and done.stdout.strip() not in ("", "0"):
                return int(done.stdout.strip())
            time.sleep(0.1)
        return None

    def send_sigterm(self, container):
        subprocess.run([*PODMAN, "kill", "--signal", "TERM", container.name], capture_output=True)

    def kill(self, container):
        subprocess.run([*PODMAN, "rm", "--force", "--time", "0", container.name], capture_output=True)

    def data_dir(self):
        done = subprocess.run([*PODMAN, "volume", "inspect", "--format", "{{.Mountpoint}}", self.volume],
                              capture_output=True, text=True, check=True)
        return pathlib.Path(done.stdout.strip())

    def cleanup(self):
        for name in self.names:
            subprocess.run([*PODMAN, "rm", "--force", "--time", "0", name], capture_output=True)
        subprocess.run([*PODMAN, "volume", "rm", "--force", self.volume], capture_output=True)


class ChrootRuntime:
    def __init__(self, rootfs, inspect, scratch):
        config = inspect["OCIv1"]["config"]  # `buildah inspect --type image IMAGE`
        self.rootfs = rootfs
        self.scratch = scratch
        self.user = config.get("User") or "0:0"
        self.workdir = config.get("WorkingDir") or "/"
        self.env = list(config.get("Env") or [])
        self.entrypoint = list(config.get("Entrypoint") or [])
        self.cmd = list(config.get("Cmd") or [])
        if not any(entry.startswith("HOME=") for entry in self.env):
            self.env.append("HOME=" + self.workdir)
        self.bound = set()

    def setup(self):
        """Loopback up in this script's network namespace and a minimal /dev in the image's root."""
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        dev = self.rootfs / "dev"
        mount("-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", str(dev))
        for node in DEV_NODES:
            (dev / node).touch()
            mount("--bind", f"/dev/{node}", str(dev / node))
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            (dev / name).symlink_to(target)

    def _argv(self, name, command, mounts):
        # Mounts are made in this script's mount namespace, which every container inherits: one
        # given once stays for the containers started after it.
        for host, target, read_only in mounts:
            if target not in self.bound:
                bind(host, self.rootfs / target.lstrip("/"), read_only)
                self.bound.add(target)
        # A hostname of its own, as a runtime gives each container: a worker's default name is
        # HOSTNAME:PID, and every worker here is PID 2, under tini.
        return ["unshare", "--uts", "--pid", "--fork", "--kill-child", f"--mount-proc={self.rootfs}/proc",
                "sh", "-c", 'hostname "$0" && exec "$@"', name,
                "chroot", f"--userspec={self.user}", str(self.rootfs),
                "/usr/bin/env", "-i", "-C", self.workdir, *self.env, *self.entrypoint,
                *(list(command) if command else self.cmd)]

    def start(self, name, command=None, mounts=(), is_broker=False):
        return Container(self, name, self._argv(name, command, mounts))

    def run(self, command, mounts=(), joins_broker=True):
        return self._argv(f"run-{uuid.uuid4().hex[:8]}", command, mounts)  # one network for all: joins_broker holds

    def init_pid(self, container):
        """The host PID of the container's PID 1: the one child of `unshare --fork`."""
        pid = container.process.pid
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                children = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except FileNotFoundError:
                return None
            if children:
                return int(children[0])
            time.sleep(0.02)
        return None

    def send_sigterm(self, container):
        pid = self.init_pid(container)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)

    def kill(self, container):
        container.process.kill()  # unshare --kill-child takes the container's PID 1 along

    def data_dir(self):
        return self.rootfs / "var/lib/corsair"

    def cleanup(self):
        pass  # the mounts end with this script's mount namespace


class Checks:
    def __init__(self):
        self.failed = []

    def check(self, name, passed, detail=""):
        print(f"{'ok  ' if passed else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
        if not passed:
            self.failed.append(name)
        return passed


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def bind(source, target, read_only):
    target.mkdir(parents=True, exist_ok=True)
    mount("--bind", str(source), str(target))
    if read_only:
        mount("-o", "remount,bind,ro", str(target))


def run(runtime, command, mounts=(), joins_broker=True, timeout_s=COMMAND_TIMEOUT_S):
    """A short-lived program of the image (`podman run --rm IMAGE COMMAND`), on the broker's network
    or none: (status, stdout, stderr)."""
    try:
        done = subprocess.run(runtime.run(command, mounts, joins_broker), capture_output=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or b"", e.stderr or b""
    return done.returncode, done.stdout, done.stderr


def text(data):
    return data.decode(errors="replace").strip()


def last_json(status, out):
    lines = out.strip().splitlines()
    return json.loads(lines[-1]) if status == 0 and lines else {}


def http_status(netns_pid, path, token=None):
    """The HTTP status of GET 127.0.0.1:5580/PATH, asked from inside the broker's network namespace."""
    script = ("import sys, urllib.request, urllib.error\n"
              "request = urllib.request.Request(sys.argv[1], headers={'Authorization': 'Bearer ' + sys.argv[2]} "
              "if sys.argv[2] else {})\n"
              "try:\n    print(urllib.request.urlopen(request, timeout=5).status)\n"
              "except urllib.error.HTTPError as e:\n    print(e.code)\n")
    done = subprocess.run(["nsenter", f"--net=/proc/{netns_pid}/ns/net", "/usr/bin/python3", "-c", script,
                           f"http://127.0.0.1:5580{path}", token or ""], capture_output=True, text=True, timeout=30)
    return int(done.stdout) if done.stdout.strip().isdigit() else text(done.stderr.encode())[-200:]


def owned_by(path, uid, gid, mode):
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def make_secrets(runtime, uid, gid, checks):
    """Keys made with the image's own `corsair keygen`, laid out as docs/container.md says: the
    broker's in SCRATCH/etc-corsair (mounted on /etc/corsair), the clients' in SCRATCH/client."""
    scratch = runtime.scratch
    keygen = scratch / "keygen"
    keygen.mkdir()
    owned_by(keygen, uid, gid, 0o700)
    for name, role in (("broker", None), ("worker", "worker"), ("producer", "producer")):
        command = ["corsair", "keygen", name, "--dir", "/keys"] + (["--role", role] if role else [])
        status, _, err = run(runtime, command, [(keygen, "/keys", False)], joins_broker=False)
        if not checks.check(f"corsair keygen {name}", status == 0, text(err)):
            return None
    etc = scratch / "etc-corsair"
    (etc / "keys/allowed").mkdir(parents=True)
    shutil.copy2(keygen / "broker.key_secret", etc / "keys/broker.key_secret")
    shutil.copy2(keygen / "worker.key", etc / "keys/allowed/worker.key")
    shutil.copy2(keygen / "producer.key", etc / "keys/allowed/producer.key")
    token = secrets.token_hex(16)
    (etc / "http-tokens").write_text(f"admin {token}\n")
    client = scratch / "client"
    client.mkdir()
    for name in ("broker.key", "worker.key_secret", "producer.key_secret"):
        shutil.copy2(keygen / name, client / name)
    for root in (etc, client):
        for path in [root, *root.rglob("*")]:
            owned_by(path, uid, gid, 0o700 if path.is_dir() else 0o600)
    return etc, client, token


def check_refuses_without_secrets(runtime, checks):
    broker = runtime.start("broker-without-secrets", is_broker=True)
    status = broker.wait_exit(READY_TIMEOUT_S)
    if status is None:
        broker.kill()
    message = broker.stderr_tail(2)
    checks.check("the default command refuses to start without the secrets in /etc/corsair",
                 status not in (None, 0) and "/etc/corsair/" in message, f"exit {status}: {message}")


def uid_of(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
    return next((line.split()[1] for line in status if line.startswith("Uid:")), None)


def check_jobs(runtime, etc, client, token, checks):
    """The default command with the secrets mounted; workers and clients as containers of their own."""
    secrets_mount = [(etc, "/etc/corsair", True)]
    client_mount = [(client, "/run/corsair-client", True)]
    curve = lambda role: ["--curve-server-key", "/run/corsair-client/broker.key",
                          "--curve-key", f"/run/corsair-client/{role}.key_secret"]
    broker = runtime.start("broker", mounts=secrets_mount, is_broker=True)
    workers = []
    try:
        ready = broker.wait_for_line("corsair-broker ready ")
        if not checks.check("the default command starts", ready is not None,
                            ready or f"no ready line; stderr: {broker.stderr_tail()}"):
            return
        init = runtime.init_pid(broker)
        checks.check("its PID 1 runs as uid 10001", init is not None and uid_of(init) == "10001",
                     f"uid {uid_of(init) if init else None}")
        handlers = {"echo": ["--builtin", "echo"], "upper": ["--", "tr", "a-z", "A-Z"], "whoami": ["--", "id", "-u"]}
        for queue, handler in handlers.items():
            workers.append(runtime.start(f"worker-{queue}",
                                         ["corsair-worker", "--broker", "tcp://127.0.0.1:5556", "--queue", queue,
                                          *curve("worker"), *handler], client_mount))
        expected = {"echo": ("hello from the image", "hello from the image"),
                    "upper": ("hello from the image", "HELLO FROM THE IMAGE"),
                    "whoami": ("-", "10001\n")}
        ids = {}
        for queue, (payload, result) in expected.items():
            status, out, err = run(runtime, ["corsair", "submit", queue, payload, "--wait", "--json",
                                             "--broker", "tcp://127.0.0.1:5555", *curve("producer")], client_mount)
            outcome = last_json(status, out)
            ids[queue] = outcome.get("id")
            checks.check(f"corsair submit {queue} --wait: {result!r}",
                         outcome.get("state") == "done" and outcome.get("result") == result,
                         f"exit {status}: {text(out)} {text(err)}")
        status, _, err = run(runtime, ["corsair", "stats", "--wait-timeout", "2s", "--broker", "tcp://127.0.0.1:5555"])
        checks.check("a client without a CURVE key gets no answer (exit 4)", status == 4, f"exit {status}: {text(err)[:120]}")
        checks.check("GET /health without a token: 200", http_status(init, "/health") == 200)
        checks.check("GET /api/v1/queues without a token: 401", http_status(init, "/api/v1/queues") == 401)
        checks.check("GET /api/v1/queues with the admin token: 200", http_status(init, "/api/v1/queues", token) == 200)
        for worker in workers:
            status = worker.stop()
            checks.check(f"{worker.name} stops on SIGTERM to its PID 1, status 0", status == 0, f"exit {status}")
        status = broker.stop()
        checks.check("the broker stops on SIGTERM to its PID 1, status 0", status == 0, f"exit {status}")
        journal = list(runtime.data_dir().iterdir())
        checks.check("its journal is in the volume /var/lib/corsair, owned by 10001",
                     bool(journal) and all(path.stat().st_uid == 10001 for path in journal),
                     " ".join(sorted(path.name for path in journal)))
        check_restart(runtime, secrets_mount, client_mount, ids.get("echo"), curve, checks)
    finally:
        for container in (*workers, broker):
            container.kill()


def check_restart(runtime, secrets_mount, client_mount, job_id, curve, checks):
    """A new broker on the same volume still knows the job and its result."""
    broker = runtime.start("broker-restarted", mounts=secrets_mount, is_broker=True)
    try:
        ready = broker.wait_for_line("corsair-broker ready ")
        if not checks.check("a second broker starts on the same volume", ready is not None,
                            ready or f"no ready line; stderr: {broker.stderr_tail()}"):
            return
        status, out, err = run(runtime, ["corsair", "result", str(job_id), "--json", "--broker", "tcp://127.0.0.1:5555",
                                         *curve("producer")], client_mount)
        checks.check("it has the echo job's result from the journal",
                     last_json(status, out).get("result") == "hello from the image", f"exit {status}: {text(out)} {text(err)}")
        status = broker.stop()
        checks.check("and stops on SIGTERM, status 0", status == 0, f"exit {status}")
    finally:
        broker.kill()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "podman":
        runtime = PodmanRuntime(sys.argv[2], pathlib.Path(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "chroot":
        runtime = ChrootRuntime(pathlib.Path(sys.argv[2]), json.loads(pathlib.Path(sys.argv[3]).read_text()),
                                pathlib.Path(sys.argv[4]))
    else:
        print(__doc__.split("Usage: ")[1], file=sys.stderr)
        return 2
    checks = Checks()
    try:
        runtime.setup()
        check_refuses_without_secrets(runtime, checks)
        made = make_secrets(runtime, 10001, 10001, checks)
        if made:
            check_jobs(runtime, *made, checks)
    finally:
        runtime.cleanup()
    print(f"{len(checks.failed)} checks failed: {', '.join(checks.failed)}" if checks.failed else "every check passed",
          flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
