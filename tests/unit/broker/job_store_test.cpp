#include "job_store.hpp"

#include <catch2/catch.hpp>

#include "queue_state.hpp"

using namespace corsair::broker;

namespace {

JobRecord& make(JobStore& store, QueueState& queue, const std::string& id, const std::string& unique_key = {}) {
    JobRecord& job = store.create(id, std::string_view("12345"), queue);
    if (!unique_key.empty()) job.writable_details().unique_key = unique_key;
    return job;
}

void end(JobStore& store, JobRecord& job) {
    job.state = JobState::ended;  // in no structure: these tests never place it anywhere
    store.destroy(job);
}

}  // namespace

TEST_CASE("the job store numbers submissions and counts the payload bytes it keeps", "[broker][job_store]") {
    QueueState queue;
    queue.name = "q";
    JobStore store;
    JobRecord& a = make(store, queue, "a");
    JobRecord& b = make(store, queue, "b");
    CHECK(a.sequence < b.sequence);
    CHECK(store.find("a") == &a);
    CHECK(store.live_payload_bytes() == 10);
    end(store, a);
    CHECK(store.find("a") == nullptr);
    CHECK(store.live_payload_bytes() == 5);
}

TEST_CASE("a replayed job keeps its own number and later submissions follow it", "[broker][job_store]") {
    QueueState queue;
    queue.name = "q";
    JobStore store;
    CHECK(store.create("r", std::string_view(""), queue, 41).sequence == 41);
    CHECK(make(store, queue, "c").sequence == 42);
    CHECK(store.create("old", std::string_view(""), queue, 3).sequence == 3);
    CHECK(make(store, queue, "d").sequence == 43);
}

TEST_CASE("a unique key is held by one live job of a queue at a time", "[broker][job_store]") {
    QueueState q1;
    q1.name = "q1";
    QueueState q2;
    q2.name = "q2";
    JobStore store;
    JobRecord& first = make(store, q1, "a", "nightly");
    CHECK(store.hold_unique_key(first));
    CHECK(store.find_unique("q1", "nightly") == &first);
    CHECK(store.find_unique("q2", "nightly") == nullptr);

    JobRecord& other_queue = make(store, q2, "b", "nightly");
    CHECK(store.hold_unique_key(other_queue));
    JobRecord& second = make(store, q1, "c", "nightly");
    CHECK_FALSE(store.hold_unique_key(second));

    store.release_unique_key(second);  // not the holder: changes nothing
    CHECK(store.find_unique("q1", "nightly") == &first);
    store.release_unique_key(first);
    CHECK(store.find_unique("q1", "nightly") == nullptr);
    CHECK(store.hold_unique_key(second));
}
