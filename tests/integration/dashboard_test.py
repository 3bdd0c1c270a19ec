#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium, driven over Chrome's DevTools protocol,
against a real corsair-broker (with tokens) and real corsair-workers.

It logs in through the page's token form, checks that a queue shows its depth and its dead set,
that the rate chart moves while a worker serves jobs, that pause and job search work, clicks
Retry on a dead job (a real mouse click) and sees the job leave the dead set, then checks the
in-page token form. It saves a screenshot to the path given.

Usage: dashboard_test.py --broker BIN --worker BIN --screenshot PNG [--chromium BIN]

Every process it starts is stopped by its PID (Chromium by its own process group); every wait
is for a condition under a deadline. A missing Chromium fails the test: it is not skipped.
"""

import argparse
import base64
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websocket  # Debian's python3-websocket

ADMIN_TOKEN = "dashboard-test-admin-token-0123456789"
PRODUCER_TOKEN = "dashboard-test-producer-token-0123456789"
# The exit code of a sanitizer report in a CORSAIR_SANITIZE build (tests/support/sanitizer_options.cpp).
SANITIZER_EXIT_CODE = 86
DEAD_QUEUE = "emails"
BUSY_QUEUE = "thumbnails"


class TestFailure(Exception):
    pass


class NavigatedAway(TestFailure):
    """DevTools dropped a call because the page navigated while it ran (a form sent, a redirect)."""


def wait_for(what, check, timeout=20.0, every=0.05):
    """Returns check()'s first truthy value; fails once `timeout` seconds pass without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Processes:
    """The children this test started; stop_all() ends each by its PID and reaps it."""

    def __init__(self):
        self.children = []

    def start(self, name, argv, **popen):
        child = subprocess.Popen(argv, **popen)
        self.children.append((name, child, popen.get("start_new_session", False)))
        return child

    def stop(self, child, group=False, timeout=10.0):
        if child.poll() is not None:
            return child.returncode
        send = (lambda sig: os.killpg(child.pid, sig)) if group else child.send_signal
        try:
            send(signal.SIGTERM)
            return child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            return child.wait(timeout=timeout)
        except ProcessLookupError:
            return child.wait(timeout=timeout)

    def stop_all(self):
        """Stops every child; returns the names of those that ended on a sanitizer report."""
        return [name for name, child, group in reversed(self.children)
                if self.stop(child, group) == SANITIZER_EXIT_CODE]


# ---- the broker's HTTP API ----

class Broker:
    def __init__(self, http_address, worker_endpoint):
        self.base = "http://" + http_address
        self.worker_endpoint = worker_endpoint

    class _KeepRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    _opener = urllib.request.build_opener(_KeepRedirects)

    def call(self, method, path, body=None, token=ADMIN_TOKEN):
        """(status, headers, body) of one request; redirects are returned, not followed."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method, path, body=None):
        status, _, content = self.call(method, path, body)
        if status >= 300:
            raise TestFailure(f"{method} {path}: HTTP {status}: {content[:300]!r}")
        return json.loads(content)

    def submit(self, queue, payload, **options):
        return self.json("POST", f"/api/v1/queues/{queue}/jobs", dict(payload=payload, **options))["id"]

    def queue(self, name):
        return next((q for q in self.json("GET", "/api/v1/stats")["queues"] if q["queue"] == name), None)


def read_ready_line(child, timeout=20.0):
    """The broker's `corsair-broker ready ...` line as {key: value}."""
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        line = child.stdout.readline().decode(errors="replace")
        if not line:
            raise TestFailure(f"corsair-broker exited (status {child.wait(timeout=5)}) before its ready line")
        if line.startswith("corsair-broker ready"):
            return dict(field.split("=", 1) for field in line.split()[2:])
    raise TestFailure("corsair-broker printed no ready line in time")


def start_broker(processes, binary, scratch):
    tokens = os.path.join(scratch, "tokens")
    with open(tokens, "w") as out:
        out.write(f"admin {ADMIN_TOKEN}\nproducer {PRODUCER_TOKEN}\n")
    child = processes.start("corsair-broker", [
        binary, "--producers", "tcp://127.0.0.1:0", "--workers", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0",
        "--http-tokens", tokens, "--data-dir", os.path.join(scratch, "data")],
        stdout=subprocess.PIPE, stderr=open(os.path.join(scratch, "broker.log"), "wb"))
    ready = read_ready_line(child)
    return Broker(ready["http"], ready["workers"])


def start_worker(processes, binary, scratch, broker, queue, name, handler):
    log = open(os.path.join(scratch, name + ".log"), "wb")
    return processes.start(name, [binary, "--broker", broker.worker_endpoint, "--queue", queue, "--id", name,
                                  "--capacity", "4"] + handler, stdout=log, stderr=log)


# ---- Chromium over the DevTools protocol ----

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-port=0"]


def require_chromium(binary):
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise TestFailure(f"no Chromium at {binary}: install Debian's chromium (the browser test needs it)")


def start_chromium(processes, binary, scratch):
    profile = os.path.join(scratch, "chromium-profile")
    os.makedirs(profile)
    log = open(os.path.join(scratch, "chromium.log"), "wb")
    child = processes.start("chromium", [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile, "about:blank"],
                            stdout=log, stderr=log, start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")

    def port():
        if child.poll() is not None:
            raise TestFailure(f"chromium exited with status {child.returncode} (see {scratch}/chromium.log)")
        if not os.path.exists(port_file):
            return None
        lines = open(port_file).read().split("\n")
        return int(lines[0]) if len(lines) >= 2 and lines[0].isdigit() else None

    return child, wait_for("Chromium's DevToolsActivePort file", port)


class Page:
    """One page target, spoken to over its DevTools WebSocket; keeps the events that arrive."""

    def __init__(self, devtools_port):
        def page_target():
            with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=5) as response:
                targets = json.loads(response.read())
            return next((t for t in targets if t.get("type") == "page"), None)

        target = wait_for("a page target in Chromium", page_target)
        self.socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, timeout=30.0, **params):
        self.next_id += 1
        call_id = self.next_id
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TestFailure(f"DevTools did not answer {method} within {timeout:.0f}s")
            self.socket.settimeout(remaining)
            message = json.loads(self.socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    error = message["error"]
                    if "navigated or closed" in str(error.get("message", "")):
                        raise NavigatedAway(f"DevTools {method}: {error}")
                    raise TestFailure(f"DevTools {method}: {error}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            if "context was destroyed" in json.dumps(result["exceptionDetails"]):
                raise NavigatedAway(f"page script ended by a navigation: {expression[:80]}")
            raise TestFailure(f"page script failed: {expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def settled(self, expression):
        """expression's value once the page holds still: False while a navigation drops the call,
        for waits that span a navigation (logging in sends a form and follows a redirect)."""
        try:
            return self.evaluate(expression)
        except NavigatedAway:
            return False

    def text(self, selector):
        return self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                             f" return e ? e.textContent : null; }})()")

    def wait_text(self, what, selector, expected, timeout=20.0):
        wait_for(f"{what} ({selector} to read {expected!r}, last {self.text(selector)!r})",
                 lambda: self.text(selector) == expected, timeout)

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def click(self, selector):
        """A real click: the mouse pressed and released at the middle of the element's box."""
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2, width: r.width, height: r.height}};
        }})()""")
        if not box or box["width"] == 0 or box["height"] == 0:
            raise TestFailure(f"nothing to click at {selector}")
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=box["x"], y=box["y"])
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type_into(self, selector, text):
        self.click(selector)
        self.call("Input.insertText", text=text)

    def problems(self, since):
        """Script exceptions and console or browser errors (a CSP refusal is one) after event `since`."""
        found = []
        for event in self.events[since:]:
            if event["method"] == "Runtime.exceptionThrown":
                found.append(event["params"]["exceptionDetails"].get("text", "exception"))
            elif event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
                found.append(event["params"]["entry"]["text"])
            elif event["method"] == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
                found.append(json.dumps(event["params"]["args"])[:300])
        return found


# ---- the test ----

def check_page_headers(broker):
    status, headers, body = broker.call("GET", "/", token=None)
    if status != 401 or b"<form" not in body or "text/html" not in headers.get("Content-Type", ""):
        raise TestFailure(f"GET / without a token: expected 401 with an HTML token form, got {status} {body[:200]!r}")
    status, headers, body = broker.call("GET", "/")
    csp = headers.get("Content-Security-Policy", "")
    if status != 200 or b"dashboard.js" not in body:
        raise TestFailure(f"GET / with the admin token: expected the page, got {status}")
    if "default-src 'self'" not in csp or headers.get("Cache-Control") != "no-cache":
        raise TestFailure(f"GET / headers: Content-Security-Policy {csp!r}, Cache-Control {headers.get('Cache-Control')!r}")
    status, headers, _ = broker.call("GET", "/?token=" + ADMIN_TOKEN, token=None)
    cookie = headers.get("Set-Cookie", "")
    if status != 303 or headers.get("Location") != "/" or not cookie.startswith("corsair_token=" + ADMIN_TOKEN + ";") \
            or "HttpOnly" not in cookie or "SameSite=Strict" not in cookie:
        raise TestFailure(f"GET /?token=ADMIN: expected 303 to / with an HttpOnly SameSite=Strict cookie, got {status} {cookie!r}")
    for token, expected in ((PRODUCER_TOKEN, 403), ("not-a-token-of-this-broker", 401)):
        status, headers, body = broker.call("GET", "/?token=" + token, token=None)
        if status != expected or "Set-Cookie" in headers or b"<form" not in body:
            raise TestFailure(f"GET /?token={token}: expected {expected} with the login page and no cookie, got {status}")
    status, headers, _ = broker.call("GET", "/dashboard/dashboard.js")
    if status != 200 or not headers.get("Content-Type", "").startswith("text/javascript"):
        raise TestFailure(f"GET /dashboard/dashboard.js: {status} {headers.get('Content-Type')}")


def make_dead_jobs(processes, args, scratch, broker):
    """Two jobs of DEAD_QUEUE dead (one attempt, failed by a worker running `false`), then three pending."""
    dead = [broker.submit(DEAD_QUEUE, f"welcome mail {n}", max_attempts=1) for n in (1, 2)]
    failing = start_worker(processes, args.worker, scratch, broker, DEAD_QUEUE, "mailer-1", ["--", "false"])
    wait_for("two jobs in the dead set", lambda: broker.json("GET", f"/api/v1/queues/{DEAD_QUEUE}/dead")["total"] == 2)
    if processes.stop(failing) != 0:
        raise TestFailure("the failing worker did not drain and exit 0 on SIGTERM")
    wait_for("the failing worker to leave the broker",
             lambda: all(w["worker"] != "mailer-1" for w in broker.json("GET", "/api/v1/stats")["workers"]))
    for n in range(3):
        broker.submit(DEAD_QUEUE, f"newsletter {n}")
    return dead


def log_in(page, broker):
    """Through the login page's form, as a person would: the form sends GET /?token=..., the
    broker sets its cookie and sends the browser on to the dashboard."""
    page.navigate(broker.base + "/")
    wait_for("the login page", lambda: page.settled("document.querySelector('input[name=token]') !== null"))
    page.type_into("input[name=token]", ADMIN_TOKEN)
    page.click("button[type=submit]")
    wait_for("the dashboard after logging in", lambda: page.settled(
        "location.pathname === '/' && location.search === '' && document.getElementById('queues') !== null"))
    wait_for("the first poll", lambda: page.settled("document.getElementById('poll-state').dataset.state === 'live'"))


def check_rates(page, broker):
    """The rate chart of BUSY_QUEUE shows done/s > 0 while its worker serves jobs spread over 12 s."""
    for n in range(60):
        broker.submit(BUSY_QUEUE, f"cat-{n}.png", delay=f"{n * 200}ms")
    wait_for("a done/s rate above zero in the chart of " + BUSY_QUEUE, lambda: page.evaluate(
        f"parseFloat(document.querySelector('canvas[data-chart=\"{BUSY_QUEUE}\"]').dataset.doneRate || '0') > 0"))


def check_pause(page, broker):
    page.click(f'tr[data-queue="{DEAD_QUEUE}"] button[data-action="pause"]')
    page.wait_text("the queue shown paused", f'tr[data-queue="{DEAD_QUEUE}"] [data-field="paused"]', "paused")
    if not broker.queue(DEAD_QUEUE)["paused"]:
        raise TestFailure("the Pause button did not pause the queue")


def check_job_search(page, job_id):
    page.type_into("#job-id", job_id)
    page.click("#job-search button[type=submit]")
    page.wait_text("the job's state", '#job-status dd[data-field="state"]', "failed")
    page.wait_text("the job's id", '#job-status dd[data-field="id"]', job_id)


def check_retry(page, broker, retried, kept):
    row = f'#dead-jobs tr[data-job-id="{retried}"]'
    page.click(row + ' button[data-action="retry"]')
    wait_for("the retried job to leave the dead set on the page",
             lambda: page.evaluate(f"document.querySelector({json.dumps(row)}) === null"))
    page.wait_text("the queue's pending count", f'tr[data-queue="{DEAD_QUEUE}"] [data-field="pending"]', "4")
    page.wait_text("the queue's dead count", f'tr[data-queue="{DEAD_QUEUE}"] [data-field="dead"]', "1")
    if page.evaluate(f"document.querySelector('#dead-jobs tr[data-job-id=\"{kept}\"]') === null"):
        raise TestFailure("the other dead job left the dead set too")
    state = broker.json("GET", f"/api/v1/jobs/{retried}")["state"]
    if state != "pending":
        raise TestFailure(f"the retried job is {state}, not pending")


def check_token_form(page):
    """Without its cookie the page gets 401 from the API, asks for a token, and uses it as a Bearer."""
    page.call("Network.clearBrowserCookies")
    wait_for("the page's token form after a 401", lambda: page.evaluate("!document.getElementById('token-form').hidden"))
    page.type_into("#token-input", ADMIN_TOKEN)
    page.click("#token-form button[type=submit]")
    wait_for("the page live again with the token as a Bearer header", lambda: page.evaluate(
        "document.getElementById('token-form').hidden && document.getElementById('poll-state').dataset.state === 'live'"))


def save_screenshot(page, path):
    """The whole page, top to bottom, as PNG."""
    page.evaluate("window.scrollTo(0, 0)")
    height = page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                     clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1})
    with open(path, "wb") as out:
        out.write(base64.b64decode(shot["data"]))


def run(args, scratch, processes):
    require_chromium(args.chromium)
    broker = start_broker(processes, args.broker, scratch)
    check_page_headers(broker)
    dead = make_dead_jobs(processes, args, scratch, broker)
    start_worker(processes, args.worker, scratch, broker, BUSY_QUEUE, "thumbnailer-1", ["--builtin", "echo"])
    broker.submit(BUSY_QUEUE, "warm-up.png")

    chromium, devtools_port = start_chromium(processes, args.chromium, scratch)
    page = Page(devtools_port)
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.call(domain + ".enable")
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=860, deviceScaleFactor=1, mobile=False)
    log_in(page, broker)
    logged_in_at = len(page.events)

    page.wait_text("the queue's pending count", f'tr[data-queue="{DEAD_QUEUE}"] [data-field="pending"]', "3")
    page.wait_text("the queue's dead count", f'tr[data-queue="{DEAD_QUEUE}"] [data-field="dead"]', "2")
    page.wait_text("the worker's row", 'tr[data-worker="thumbnailer-1"] [data-field="worker"]', "thumbnailer-1")
    for job_id in dead:
        wait_for(f"dead job {job_id} in the dead set", lambda: page.evaluate(
            f"document.querySelector('#dead-jobs tr[data-job-id=\"{job_id}\"] button[data-action=\"retry\"]') !== null"))
    check_rates(page, broker)
    check_pause(page, broker)
    check_job_search(page, dead[0])
    # A chart with some history makes a screenshot that shows what the chart is for.
    wait_for("ten seconds of rates in the chart", lambda: page.evaluate(
        f"parseInt(document.querySelector('canvas[data-chart=\"{BUSY_QUEUE}\"]').dataset.points || '0') >= 5"))

    save_screenshot(page, args.screenshot)

    check_retry(page, broker, dead[0], dead[1])
    check_token_form(page)
    problems = page.problems(logged_in_at)
    # The 401s that check_token_form provokes on purpose are the only errors allowed.
    problems = [p for p in problems if "401" not in p]
    if problems:
        raise TestFailure("the page logged errors: " + "; ".join(problems))
    page.socket.close()
    processes.stop(chromium, group=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="dashboard-test-")
    processes = Processes()
    try:
        run(args, scratch, processes)
    except TestFailure as failure:
        print(f"FAILED: {failure}\n(logs in {scratch})", file=sys.stderr)
        return 1
    finally:
        reported = processes.stop_all()
    if reported:
        print(f"FAILED: a sanitizer report from {', '.join(reported)} (logs in {scratch})", file=sys.stderr)
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"the dashboard works in Chromium; screenshot at {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
