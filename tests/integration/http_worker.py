#!/usr/bin/env python3
"""An HTTP worker in the standard library only, as a user without ZeroMQ would write one
(docs/http.md, Workers over HTTP). Used by http_worker_test.cpp.

    http_worker.py --url http://127.0.0.1:PORT --queue q [--lease 2s] [--hold]

Claims jobs from the queue in a loop and completes each with the result "py:" + payload. Prints
one line per event on stdout ("waiting", "claimed ID ATTEMPT TOKEN", "completed ID") so the test
can follow it. With --hold it claims one job, prints it, and then keeps it without a word until
it is killed: a worker that died holding a lease.
"""
import argparse
import json
import signal
import sys
import urllib.request


def post(url, body, content_type="application/json", timeout=60):
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def say(line):
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--lease", default="5s")
    parser.add_argument("--name", default="python")
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    claim_url = f"{args.url}/api/v1/queues/{args.queue}/claim"
    claim = json.dumps({"wait": "1s", "lease": args.lease, "worker": args.name}).encode()
    say("waiting")
    while True:
        status, body = post(claim_url, claim)
        if status == 204:
            continue
        job = json.loads(body)
        say(f"claimed {job['id']} {job['attempt']} {job['token']}")
        if args.hold:
            # Hold the lease until the test kills this process (it waits for the "claimed" line).
            while True:
                signal.pause()
        result = json.dumps({"result": "py:" + job["payload"]}).encode()
        post(f"{args.url}/api/v1/leases/{job['token']}/complete", result)
        say(f"completed {job['id']}")


if __name__ == "__main__":
    sys.exit(main())
