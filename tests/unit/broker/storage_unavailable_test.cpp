// While the journal cannot be written (a full disk), the Scheduler promises nothing new: state
// changes are refused with storage_unavailable and no job is dispatched, while the endings of
// jobs already leased are still taken (docs/durability.md, "A full disk").
#include <catch2/catch.hpp>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;

namespace {

p::Error last_error(Fixture& f, const std::string& producer = "P") {
    auto errors = f.outbox.to_producer_of<p::Error>(producer);
    REQUIRE_FALSE(errors.empty());
    return errors.back();
}

}  // namespace

TEST_CASE("while storage is unavailable, submits and changes are refused with the reason", "[broker][storage]") {
    Fixture f;
    f.submit("before");
    f.scheduler.set_storage_available(false, "journal: cannot write /data/journal.log: No space left on device", f.now);
    CHECK(f.scheduler.counters().storage_unavailable == 1);

    f.submit("during");
    auto error = last_error(f);
    CHECK(error.code == p::ErrorCode::storage_unavailable);
    CHECK(error.id == "during");
    CHECK(error.command == "SUBMIT");
    CHECK(error.message.find("No space left on device") != std::string::npos);
    CHECK_FALSE(f.find_job("during"));

    f.request(p::Cancel{"before"});
    CHECK(last_error(f).command == "CANCEL");
    CHECK(f.find_job("before")->state == p::JobState::pending);
    f.request(p::Retry{{}, "q"});
    CHECK(last_error(f).command == "RETRY");
    f.request(p::Purge{"q", {}});
    CHECK(last_error(f).command == "PURGE");
    p::QueueSettings pause;
    pause.queue = "q";
    pause.is_paused = true;
    f.request(pause);
    CHECK(last_error(f).command == "QUEUE");
    p::QueueSettings create;
    create.queue = "new";
    create.should_create = true;
    f.request(create);
    CHECK(last_error(f).command == "QUEUE");
    f.request(p::Clear{"q", true, false});
    CHECK(last_error(f).command == "CLEAR");
    f.request(p::DeleteQueue{"q", true});
    CHECK(last_error(f).command == "DELETE_QUEUE");
    CHECK(f.scheduler.counters().storage_refusals == 8);

    SECTION("a resend of a job already taken is answered as usual, not refused") {
        f.submit("before");
        auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
        REQUIRE(accepted.size() == 2);
        CHECK(accepted.back().id == "before");
        CHECK(accepted.back().existed);
    }

    SECTION("reading requests are still answered") {
        f.request(p::QueueSettings{"q", {}, {}, {}, {}, {}, {}});
        CHECK(f.outbox.to_producer_of<p::QueueSettings>("P").size() == 1);
        CHECK(f.scheduler.stats(f.now).counters.at("storage_unavailable") == 1);
    }
}

TEST_CASE("while storage is unavailable nothing is dispatched, and results of leases out are still taken",
          "[broker][storage]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit("leased");
    f.submit("waiting");
    REQUIRE(f.job_ids_for("W") == std::vector<std::string>{"leased"});
    f.outbox.to_workers.clear();

    f.scheduler.set_storage_available(false, "disk full", f.now);
    f.done("W", "leased", 1);
    CHECK(f.find_job("leased")->state == p::JobState::done);
    CHECK(f.jobs_for("W").empty());  // the freed credit is not used
    CHECK(f.pending_count("q") == 1);

    f.scheduler.set_storage_available(true, {}, f.now);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"waiting"});
    CHECK(f.scheduler.counters().storage_unavailable == 0);
    CHECK(f.scheduler.counters().storage_stalls == 1);
    f.submit("after");
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").back().id == "after");
}
