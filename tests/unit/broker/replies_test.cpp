#include "replies.hpp"

#include <catch2/catch.hpp>

#include <memory>

#include "recording_outbox.hpp"

using namespace corsair::broker;
namespace p = corsair::protocol;

namespace {

// Numbers records as a JournalWriter does, and keeps nothing.
class CountingSink final : public JournalSink {
public:
    std::uint64_t append(const JournalRecord&) override { return ++sequence; }
    std::uint64_t sequence = 0;
};

struct Gate {
    Gate() : replies(outbox, journal, counters, 7) {}
    void journal_something() { journal.append(JournalReleased{"x"}); }
    std::size_t accepted_for(const std::string& producer) {
        return outbox.to_producer_of<p::Accepted>(producer).size();
    }

    test::RecordingOutbox outbox;
    CountingSink sink;
    JobJournal journal;
    SchedulerCounters counters;
    Replies replies;
};

struct OwnedJob {
    explicit OwnedJob(const std::string& id) : job(JobRecord::create(id, std::string_view(""))) {}
    std::unique_ptr<JobRecord, JobRecordDeleter> job;
};

}  // namespace

TEST_CASE("an acknowledgement waits until the journal is durable up to the record before it", "[broker][replies]") {
    Gate g;
    SECTION("without a journal it goes at once") {
        g.replies.send_accepted("P", "a", false, "a", false);
        CHECK(g.accepted_for("P") == 1);
    }
    SECTION("with a journal it waits for the durable notice") {
        g.journal.set_sink(&g.sink);
        g.journal_something();
        g.replies.send_accepted("P", "a", false, "a", false);
        g.journal_something();
        g.replies.send_accepted("P", "b", false, "b", false);
        CHECK(g.replies.held_acknowledgements() == 2);
        g.replies.send(g.replies.instance() == 7 ? "P" : "?", p::encode(p::Ok{"X", "", 0}));
        CHECK(g.outbox.to_producer_of<p::Ok>("P").size() == 1);  // a plain reply does not wait
        CHECK(g.accepted_for("P") == 0);
        g.replies.on_durable(1);
        auto first = g.outbox.to_producer_of<p::Accepted>("P");
        REQUIRE(first.size() == 1);
        CHECK(first[0].id == "a");
        g.replies.on_durable(2);
        CHECK(g.accepted_for("P") == 1);
        CHECK(g.replies.held_acknowledgements() == 0);
    }
}

TEST_CASE("the RESULTs of one turn for one producer connection go out as one RESULTS", "[broker][replies]") {
    Gate g;
    OwnedJob a("a");
    OwnedJob b("b");
    g.replies.set_reply_to(*a.job, "P", 64);
    g.replies.set_reply_to(*b.job, "P", 64);
    SECTION("in a turn: held until it ends") {
        g.replies.begin_turn();
        g.replies.send_result(*a.job, p::JobResult{"a", p::JobState::done, 1, {}, {}});
        g.replies.send_result(*b.job, p::JobResult{"b", p::JobState::done, 1, {}, {}});
        CHECK(g.outbox.to_producers["P"].empty());
        g.replies.end_turn();
        auto batches = g.outbox.to_producer_of<p::Results>("P");
        REQUIRE(batches.size() == 1);
        CHECK(batches[0].results.size() == 2);
    }
    SECTION("outside a turn: each at once") {
        g.replies.send_result(*a.job, p::JobResult{"a", p::JobState::done, 1, {}, {}});
        g.replies.send_result(*b.job, p::JobResult{"b", p::JobState::done, 1, {}, {}});
        CHECK(g.outbox.to_producer_of<p::JobResult>("P").size() == 2);
    }
    g.replies.forget_reply_to(*a.job);
    g.replies.forget_reply_to(*b.job);
}

TEST_CASE("a producer connection that reads packed batches gets its RESULTS packed, and is told so in ACCEPTED",
          "[broker][replies][packed]") {
    Gate g;
    OwnedJob a("a");
    OwnedJob b("b");
    const bool reads_packed = GENERATE(false, true);
    g.replies.set_reply_to(*a.job, "P", 64, reads_packed);
    g.replies.set_reply_to(*b.job, "P", 64, reads_packed);
    g.replies.begin_turn();
    g.replies.send_result(*a.job, p::JobResult{"a", p::JobState::done, 1, {}, p::make_payload("ra")});
    g.replies.send_result(*b.job, p::JobResult{"b", p::JobState::done, 1, {}, p::make_payload("rb")});
    g.replies.end_turn();
    auto batches = g.outbox.to_producer_of<p::Results>("P");
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].is_packed == reads_packed);
    CHECK(p::view_of(batches[0].results[1].payload) == "rb");
    g.replies.send_accepted("P", "c", false, "c", reads_packed);
    auto accepted = g.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].reads_packed == reads_packed);
    g.replies.forget_reply_to(*a.job);
    g.replies.forget_reply_to(*b.job);
}
