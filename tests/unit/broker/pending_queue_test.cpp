#include "pending_queue.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using corsair::broker::JobRecord;
using corsair::broker::JobRecordDeleter;
using corsair::broker::PendingQueue;

namespace {

struct Jobs {
    std::vector<std::unique_ptr<JobRecord, JobRecordDeleter>> owned;
    JobRecord* make(const std::string& id, std::int32_t priority = 0) {
        owned.emplace_back(JobRecord::create(id, std::string_view("payload")));
        owned.back()->priority = priority;
        return owned.back().get();
    }
};

std::vector<std::string> drain(PendingQueue& queue) {
    std::vector<std::string> ids;
    while (!queue.empty()) {
        ids.emplace_back(queue.front()->id());
        queue.pop_front();
    }
    return ids;
}

}  // namespace

TEST_CASE("a pending queue runs higher priorities first and equal priorities in order", "[broker][pending_queue]") {
    PendingQueue queue;
    Jobs jobs;
    queue.push_back(jobs.make("a", 0));
    queue.push_back(jobs.make("b", 5));
    queue.push_back(jobs.make("c", -3));
    queue.push_back(jobs.make("d", 5));
    queue.push_back(jobs.make("e", 0));
    queue.push_back(jobs.make("f", 1000));
    queue.push_back(jobs.make("g", -1000));
    CHECK(queue.size() == 7);
    CHECK(drain(queue) == std::vector<std::string>{"f", "b", "d", "a", "e", "c", "g"});
    CHECK(queue.size() == 0);
}

TEST_CASE("a job pushed to the front goes ahead of its own priority only", "[broker][pending_queue]") {
    PendingQueue queue;
    Jobs jobs;
    queue.push_back(jobs.make("low", 0));
    queue.push_back(jobs.make("high-1", 5));
    queue.push_back(jobs.make("high-2", 5));
    queue.push_front(jobs.make("back-low", 0));
    queue.push_front(jobs.make("back-high", 5));
    CHECK(drain(queue) == std::vector<std::string>{"back-high", "high-1", "high-2", "back-low", "low"});
}

TEST_CASE("any job can be removed from a pending queue", "[broker][pending_queue]") {
    PendingQueue queue;
    Jobs jobs;
    JobRecord* a = jobs.make("a", 1);
    JobRecord* b = jobs.make("b", 1);
    JobRecord* c = jobs.make("c", 1);
    JobRecord* d = jobs.make("d", 9);
    JobRecord* e = jobs.make("e", -1);
    for (JobRecord* job : {a, b, c, d, e}) queue.push_back(job);

    SECTION("the middle of a level") {
        queue.erase(b);
        CHECK(drain(queue) == std::vector<std::string>{"d", "a", "c", "e"});
    }
    SECTION("the only job of the top level, then the next level leads") {
        queue.erase(d);
        CHECK(queue.front() == a);
        CHECK(drain(queue) == std::vector<std::string>{"a", "b", "c", "e"});
    }
    SECTION("every job of a level, which can be used again later") {
        queue.erase(a);
        queue.erase(c);
        queue.erase(b);
        CHECK(queue.size() == 2);
        CHECK(drain(queue) == std::vector<std::string>{"d", "e"});
        queue.push_back(b);
        queue.push_back(e);
        queue.push_front(a);
        CHECK(drain(queue) == std::vector<std::string>{"a", "b", "e"});
    }
}

TEST_CASE("a pending queue that empties and refills keeps its order", "[broker][pending_queue]") {
    PendingQueue queue;
    Jobs jobs;
    for (int round = 0; round < 3; ++round) {
        queue.push_back(jobs.make("x" + std::to_string(round), 2));
        queue.push_back(jobs.make("y" + std::to_string(round), 7));
        const auto r = std::to_string(round);
        CHECK(drain(queue) == std::vector<std::string>{"y" + r, "x" + r});
    }
}

TEST_CASE("walking a pending queue with after() visits its jobs in run order without taking them",
          "[broker][pending_queue]") {
    PendingQueue queue;
    Jobs jobs;
    queue.push_back(jobs.make("low", -1));
    queue.push_back(jobs.make("a", 0));
    queue.push_back(jobs.make("urgent", 9));
    queue.push_back(jobs.make("b", 0));
    queue.push_front(jobs.make("back", 0));  // taken back from a worker: first of its priority
    std::vector<std::string> walked;
    for (const JobRecord* job = queue.front(); job != nullptr; job = queue.after(job)) walked.emplace_back(job->id());
    CHECK(walked == std::vector<std::string>{"urgent", "back", "a", "b", "low"});
    std::vector<std::string> heads;
    queue.for_each_head([&](const JobRecord& job) { heads.emplace_back(job.id()); });
    CHECK(heads == std::vector<std::string>{"urgent", "back", "low"});
    CHECK(drain(queue) == walked);
}
