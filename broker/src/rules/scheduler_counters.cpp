#include "corsair/broker/scheduler_counters.hpp"

namespace corsair::broker {

std::map<std::string, std::uint64_t> SchedulerCounters::to_map() const {
    return {
        {"jobs_submitted", jobs_submitted},
        {"duplicate_submits", duplicate_submits},
        {"id_conflicts", id_conflicts},
        {"jobs_dispatched", jobs_dispatched},
        {"jobs_done", jobs_done},
        {"jobs_failed", jobs_failed},
        {"jobs_requeued", jobs_requeued},
        {"jobs_cancelled", jobs_cancelled},
        {"jobs_delayed", jobs_delayed},
        {"unique_hits", unique_hits},
        {"attempts_failed", attempts_failed},
        {"attempts_timed_out", attempts_timed_out},
        {"attempts_not_started", attempts_not_started},
        {"recalls_sent", recalls_sent},
        {"jobs_recalled", jobs_recalled},
        {"retries_scheduled", retries_scheduled},
        {"dead_retried", dead_retried},
        {"dead_purged", dead_purged},
        {"dead_evicted", dead_evicted},
        {"queue_full_refusals", queue_full_refusals},
        {"queue_limit_refusals", queue_limit_refusals},
        {"payload_refusals", payload_refusals},
        {"results_too_large", results_too_large},
        {"progress_reports", progress_reports},
        {"stale_completions", stale_completions},
        {"workers_joined", workers_joined},
        {"workers_dead", workers_dead},
        {"workers_disconnected", workers_disconnected},
        {"malformed_messages", malformed_messages},
        {"unexpected_commands", unexpected_commands},
        {"results_undeliverable", results_undeliverable},
        {"results_expired", results_expired},
        {"accepts_folded", accepts_folded},
        {"storage_refusals", storage_refusals},
        {"storage_stalls", storage_stalls},
        {"storage_unavailable", storage_unavailable},
        {"leases_readopted", leases_readopted},
        {"workers_refused", workers_refused},
        {"auth_refusals", auth_refusals},
        {"forbidden_commands", forbidden_commands},
        {"in_flight_refusals", in_flight_refusals},
        {"worker_limit_refusals", worker_limit_refusals},
        {"direct_connections_dropped", direct_connections_dropped},
    };
}

}  // namespace corsair::broker
