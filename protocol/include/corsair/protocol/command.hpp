// Command codes (frame 1 of every message) and who may send each one.
#pragma once

#include <cstdint>
#include <string_view>

namespace corsair::protocol {

enum class Command : std::uint8_t {
    // producer <-> broker
    submit = 0x01,        // P->B  enqueue one job
    accepted = 0x02,      // B->P  the job is queued (or already was)
    result = 0x03,        // B->P  a job ended: done or failed
    status = 0x04,        // P->B  ask for one job's state
    status_reply = 0x05,  // B->P  one job's state (and result, if ended)
    stats = 0x06,         // P->B  ask for queues and workers
    stats_reply = 0x07,   // B->P  queues and workers
    error = 0x08,         // B->P or B->W  a request was refused
    cancel = 0x09,        // P->B  remove a pending job, or revoke a running one
    retry = 0x0A,         // P->B  put a dead job (or a queue's dead set) back in its queue
    purge = 0x0B,         // P->B  remove a dead job, or a queue's dead set
    dead = 0x0C,          // P->B  list a queue's dead set
    dead_reply = 0x0D,    // B->P  the dead jobs, in the body frame
    queue = 0x0E,         // P->B  read or change a queue's settings; B->P  the settings now
    ok = 0x0F,            // B->P  CANCEL, RETRY or PURGE done
    // worker <-> broker
    ready = 0x10,       // W->B  announce queues served and capacity
    job = 0x11,         // B->W  a lease on one attempt of one job
    done = 0x12,        // W->B  the attempt succeeded, with its result
    fail = 0x13,        // W->B  the attempt failed, with an error
    heartbeat = 0x14,   // both  I am alive
    drain = 0x15,       // W->B  send me no more jobs; my leases stand
    disconnect = 0x16,  // both  I am leaving (worker: requeue what I hold)
    progress = 0x17,    // W->B  how far a job is; B->P  the same, to the waiting producer
    abandon = 0x18,     // B->W  stop working on this lease (timeout or cancel)
    jobs = 0x19,        // B->W  several JOBs in one message (to a worker whose READY asked for it)
    dones = 0x1A,       // W->B  several DONEs in one message (to a broker whose HEARTBEAT allows it)
    results = 0x1B,     // B->P  several RESULTs in one message (to a producer whose SUBMIT asked for it)
};

inline constexpr std::string_view to_string(Command command) noexcept {
    switch (command) {
        case Command::submit: return "SUBMIT";
        case Command::accepted: return "ACCEPTED";
        case Command::result: return "RESULT";
        case Command::status: return "STATUS";
        case Command::status_reply: return "STATUS_REPLY";
        case Command::stats: return "STATS";
        case Command::stats_reply: return "STATS_REPLY";
        case Command::error: return "ERROR";
        case Command::cancel: return "CANCEL";
        case Command::retry: return "RETRY";
        case Command::purge: return "PURGE";
        case Command::dead: return "DEAD";
        case Command::dead_reply: return "DEAD_REPLY";
        case Command::queue: return "QUEUE";
        case Command::ok: return "OK";
        case Command::ready: return "READY";
        case Command::job: return "JOB";
        case Command::done: return "DONE";
        case Command::fail: return "FAIL";
        case Command::heartbeat: return "HEARTBEAT";
        case Command::drain: return "DRAIN";
        case Command::disconnect: return "DISCONNECT";
        case Command::progress: return "PROGRESS";
        case Command::abandon: return "ABANDON";
        case Command::jobs: return "JOBS";
        case Command::dones: return "DONES";
        case Command::results: return "RESULTS";
    }
    return "?";
}

inline constexpr bool is_known_command(std::uint8_t code) noexcept {
    return (code >= 0x01 && code <= 0x0F) || (code >= 0x10 && code <= 0x1B);
}

// Batches: the header lists entries and one payload frame per entry follows it (3 + N frames).
inline constexpr bool is_batch(Command command) noexcept {
    return command == Command::jobs || command == Command::dones || command == Command::results;
}

// Commands whose message carries a payload frame (frame 3); all others but the batches have
// exactly 3 frames.
inline constexpr bool carries_payload(Command command) noexcept {
    switch (command) {
        case Command::submit:
        case Command::result:
        case Command::status_reply:
        case Command::stats_reply:
        case Command::dead_reply:
        case Command::job:
        case Command::done: return true;
        default: return false;
    }
}

}  // namespace corsair::protocol
