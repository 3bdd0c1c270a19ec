#!/usr/bin/env bash
# The CTest of `corsair-bench --peers`: a --quick run of the throughput and latency workloads
# (1,000 timed throughput jobs) with the peers, whose report must hold every installed peer's
# figures and Corsair's ratios to the best one (corsair-bench-check --expect-peers). Exits 77,
# CTest's skip, when neither redis-server nor beanstalkd is installed.
# Arguments: corsair-bench, corsair-bench-check, the report's path.
set -euo pipefail
bench="$1" check="$2" report="$3"
# corsair-bench looks in these too (bench/src/peer.cpp).
export PATH="$PATH:/usr/bin:/usr/sbin"
installed=()
for program in redis-server beanstalkd; do
  if command -v "$program" >/dev/null; then installed+=("$program"); fi
done
if ((${#installed[@]} == 0)); then
  echo "SKIP: neither redis-server nor beanstalkd is installed (apt-get install redis-server beanstalkd; .ci/setup --tests installs them)"
  exit 77
fi
echo "peers installed: ${installed[*]}"
"$bench" --quick --peers --workload throughput --workload latency --throughput-jobs 1000 --json "$report"
"$check" --expect-peers "$report"
