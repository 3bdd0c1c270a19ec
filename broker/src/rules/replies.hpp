// Everything the broker tells producers, on one path: which producer connection waits on a job
// (reply targets), ACCEPTEDs held for accept_within_ms, the RESULTs of one turn coalesced per
// connection into RESULTS, and the durable gate — an acknowledgement (ACCEPTED, RESULT, OK) is
// sent only once the journal holds everything appended before it (docs/durability.md).
// Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "corsair/broker/outbox.hpp"
#include "corsair/broker/scheduler.hpp"
#include "held_accepts.hpp"
#include "in_flight_submits.hpp"
#include "job_journal.hpp"
#include "job_record.hpp"
#include "reply_targets.hpp"

namespace corsair::broker {

class Replies {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // `instance` is this start of the broker, told in every ACCEPTED (never 0). With
    // `counts_in_flight` (a --max-in-flight is set), in_flight() counts each connection's
    // ACCEPTEDs not sent yet; without, it stays 0 and the hot path skips the count.
    Replies(Outbox& outbox, JobJournal& journal, SchedulerCounters& counters, std::uint64_t instance,
            bool counts_in_flight = false)
        : outbox_(outbox),
          journal_(journal),
          counters_(counters),
          instance_(instance),
          counts_in_flight_(counts_in_flight) {}
    Replies(const Replies&) = delete;
    Replies& operator=(const Replies&) = delete;

    std::uint64_t instance() const noexcept { return instance_; }

    // At once: a reply that acknowledges nothing durable (STATUS, STATS, DEAD_REPLY, ERROR).
    void send(const RoutingId& producer, protocol::Frames frames);
    void send_error(const RoutingId& producer, protocol::ErrorCode code, std::string message, std::string id = {},
                    std::string command = {});
    // Once the journal is durable up to its last record: an acknowledgement.
    void send_when_durable(const RoutingId& producer, protocol::Frames frames);
    // The journal is durable up to `sequence`: sends the acknowledgements that waited for it.
    void on_durable(std::uint64_t sequence);
    // ACCEPTED for a new job `id`, standing for job `job_id`, once durable: until then it counts
    // in `producer`'s in_flight(). `tells_reads_packed`: its SUBMIT said it reads packed batches,
    // so the ACCEPTED says this broker does too (protocol.md §3.1).
    void send_accepted(const RoutingId& producer, std::string id, bool existed, std::string job_id,
                       bool tells_reads_packed);
    // The ACCEPTED of a job that existed already, at once: it acknowledges nothing new.
    void send_existed(const RoutingId& producer, std::string id, std::string job_id, bool tells_reads_packed);

    // Makes `producer` the connection told of `job`'s RESULT and PROGRESS, in RESULTS of up to
    // `results_batch`, packed if it `reads_packed`.
    void set_reply_to(JobRecord& job, const RoutingId& producer, std::uint32_t results_batch,
                      bool reads_packed = false);
    // Forgets `job`'s reply target (the job is being destroyed).
    void forget_reply_to(JobRecord& job);

    // Holds `job`'s ACCEPTED for `within` (SUBMIT accept_within_ms, protocol.md §5.1); it counts
    // in the in_flight() of the job's producer until sent or answered for.
    void hold_accept(JobRecord& job, std::chrono::milliseconds within, TimePoint now);
    enum class HeldAcceptEnd {
        send_now,  // the ACCEPTED goes out now (its producer stops being the job's RESULT target)
        answered,  // another ACCEPTED to the same producer answers for it (a resubmit)
        folded,    // the job's RESULT to the same producer stands for it
    };
    // How `job`'s held ACCEPTED ends, if it has one.
    void settle_held_accept(JobRecord& job, HeldAcceptEnd end);

    // `job`'s ending to the producer waiting on it (it must have one): at once, or inside a turn,
    // with the turn's other endings for that connection as one RESULTS when its SUBMIT asked.
    void send_result(const JobRecord& job, protocol::JobResult&& result);
    // PROGRESS to the producer waiting on `job`, if any.
    void send_progress(const JobRecord& job, protocol::Progress&& progress);

    // A turn (Scheduler::begin_turn): RESULTs are coalesced until end_turn().
    void begin_turn() noexcept { is_in_turn_ = true; }
    void end_turn();

    std::optional<TimePoint> next_due() const { return held_accepts_.next_due(); }
    // Sends the held ACCEPTEDs whose time has come.
    void fire(TimePoint now);

    std::size_t held_accepts() const noexcept { return held_accepts_.size(); }
    std::size_t held_acknowledgements() const noexcept { return held_until_durable_.size(); }
    // New jobs `producer` has not been told ACCEPTED of yet (held for the journal or for
    // accept_within_ms); 0 unless counting (see the constructor).
    std::uint64_t in_flight(const RoutingId& producer) const { return in_flight_.of(producer); }

private:
    void send_late_accepted(const JobRecord& job);
    struct TurnResults;
    // The RESULTs held for one connection this turn, as one RESULTS (a RESULT if only one).
    void send_turn_results(TurnResults& held);
    // An ACCEPTED of a new job: sent at once if durable, else held and counted in flight.
    void send_acceptance(const RoutingId& producer, protocol::Frames frames);
    // `job`'s held ACCEPTED has ended (sent, folded or answered for).
    void end_held_accept(const JobRecord& job);

    Outbox& outbox_;
    JobJournal& journal_;
    SchedulerCounters& counters_;
    std::uint64_t instance_;
    bool counts_in_flight_;
    InFlightSubmits in_flight_;
    ReplyTargets targets_;
    HeldAccepts held_accepts_;
    bool is_in_turn_ = false;
    // RESULTs of this turn per producer connection (by copy: a job's ending may release its target).
    struct TurnResults {
        RoutingId producer;
        bool reads_packed = false;
        std::vector<protocol::JobResult> results;
    };
    std::vector<TurnResults> turn_results_;
    struct HeldReply {
        std::uint64_t sequence;  // the journal record it follows
        RoutingId producer;
        protocol::Frames frames;
        bool is_in_flight = false;  // an ACCEPTED counted in in_flight_
    };
    std::deque<HeldReply> held_until_durable_;
    std::uint64_t durable_sequence_ = 0;
};

}  // namespace corsair::broker
