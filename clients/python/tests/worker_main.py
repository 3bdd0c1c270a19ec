"""A Python worker process for the tests: serves queues with handlers.py's handler.

Usage: worker_main.py --endpoint EP --queue Q [--queue Q2] --name NAME [--capacity N]
[--record FILE] [--drain-timeout S]. Prints "worker running" once it has started; SIGTERM
drains it (exit 0 after the drain).
"""

import argparse
import logging
import sys

import corsair
from handlers import make_handler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--queue", action="append", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--record", default=None)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    worker = corsair.Worker(args.endpoint, name=args.name, capacity=args.capacity, drain_timeout=args.drain_timeout)
    for queue in args.queue:
        worker.add_handler(queue, make_handler(args.name, [], args.record))
    print("worker running", flush=True)
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
