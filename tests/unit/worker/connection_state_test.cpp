// The Worker's connection states against protocol.md §7, row by row: each row of the doc's
// table is written out here by hand and must be exactly what kConnectionTransitions says.
#include "connection_state.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <utility>

using corsair::worker::ConnectionEvent;
using corsair::worker::ConnectionState;
using corsair::worker::has_socket;
using corsair::worker::is_draining;
using corsair::worker::kConnectionEventCount;
using corsair::worker::kConnectionStateCount;
using corsair::worker::kConnectionTransitions;
using corsair::worker::next_connection_state;
using State = ConnectionState;
using Event = ConnectionEvent;

namespace {

std::optional<State> after(State from, Event event) { return next_connection_state(from, event); }

State state_at(std::size_t index) { return static_cast<State>(index); }
Event event_at(std::size_t index) { return static_cast<Event>(index); }

}  // namespace

TEST_CASE("the worker's connection follows protocol.md §7 row by row", "[worker][connection_state]") {
    SECTION("(start): open a DEALER, send READY, connecting") {
        CHECK(after(State::not_started, Event::started) == State::connecting);
    }
    SECTION("connecting | any message from the broker | ready") {
        CHECK(after(State::connecting, Event::broker_heard) == State::ready);
    }
    SECTION("connecting | nothing heard: close, wait the backoff, then a new DEALER and READY | connecting") {
        CHECK(after(State::connecting, Event::broker_lost) == State::waiting_to_reconnect);
        CHECK(after(State::waiting_to_reconnect, Event::backoff_elapsed) == State::connecting);
    }
    SECTION("ready | JOB | serving") { CHECK(after(State::ready, Event::job_received) == State::serving); }
    SECTION("serving | JOB | serving") { CHECK(after(State::serving, Event::job_received) == State::serving); }
    SECTION("serving | a job ends, or ABANDON of a lease held | serving, or ready when none is held") {
        CHECK(after(State::serving, Event::lease_ended) == State::serving);
        CHECK(after(State::serving, Event::last_lease_ended) == State::ready);
    }
    SECTION("draining | a job ends, or ABANDON of a lease held | draining") {
        CHECK(after(State::draining, Event::lease_ended) == State::draining);
        CHECK(after(State::draining, Event::last_lease_ended) == State::draining);
    }
    SECTION("ready, serving | DISCONNECT from the broker, or nothing heard | reconnect, connecting") {
        for (const State from : {State::ready, State::serving}) {
            CHECK(after(from, Event::broker_lost) == State::waiting_to_reconnect);
        }
    }
    SECTION("ready, serving | the operator asks to stop | draining") {
        for (const State from : {State::ready, State::serving}) {
            CHECK(after(from, Event::drain_requested) == State::draining);
        }
    }
    SECTION("draining | no job held, or the drain timeout passes | gone") {
        CHECK(after(State::draining, Event::drain_finished) == State::gone);
    }
    SECTION("draining | the broker is lost | no reconnect; gone once the drain ends") {
        CHECK(after(State::draining, Event::broker_lost) == State::draining_disconnected);
        CHECK(after(State::draining_disconnected, Event::drain_finished) == State::gone);
    }
    SECTION("any | the operator stops at once | gone") {
        for (const State from : {State::connecting, State::waiting_to_reconnect, State::ready, State::serving,
                                 State::draining, State::draining_disconnected}) {
            INFO(corsair::worker::to_string(from));
            CHECK(after(from, Event::stop_requested) == State::gone);
        }
    }
}

TEST_CASE("a drain asked for before the broker answers, or crossed by a JOB, follows §7",
          "[worker][connection_state]") {
    SECTION("connecting | the operator asks to stop | DRAIN on the same socket, draining") {
        CHECK(after(State::connecting, Event::drain_requested) == State::draining);
    }
    SECTION("connecting, while waiting the backoff | the operator asks to stop | no reconnect") {
        CHECK(after(State::waiting_to_reconnect, Event::drain_requested) == State::draining_disconnected);
        CHECK(after(State::draining_disconnected, Event::backoff_elapsed) == std::nullopt);
    }
    SECTION("draining | JOB sent before the broker read the DRAIN | run it, draining") {
        CHECK(after(State::draining, Event::job_received) == State::draining);
    }
}

TEST_CASE("nothing leads out of gone, and nothing but stop or the drain's end leads into it",
          "[worker][connection_state]") {
    for (std::size_t event = 0; event < kConnectionEventCount; ++event) {
        INFO(corsair::worker::to_string(event_at(event)));
        CHECK(after(State::gone, event_at(event)) == std::nullopt);
    }
    for (const auto& row : kConnectionTransitions) {
        if (row.to == State::gone) {
            CHECK((row.event == Event::stop_requested || row.event == Event::drain_finished));
        }
    }
}

TEST_CASE("events the worker never raises in a state have no row there", "[worker][connection_state]") {
    // A message from the broker is always broker_heard first, so no JOB or lease reaches connecting.
    CHECK(after(State::connecting, Event::job_received) == std::nullopt);
    CHECK(after(State::ready, Event::lease_ended) == std::nullopt);
    CHECK(after(State::ready, Event::last_lease_ended) == std::nullopt);
    CHECK(after(State::ready, Event::broker_heard) == std::nullopt);
    CHECK(after(State::not_started, Event::stop_requested) == std::nullopt);
    CHECK(after(State::draining, Event::drain_requested) == std::nullopt);  // a second request is ignored
    CHECK(after(State::waiting_to_reconnect, Event::job_received) == std::nullopt);
}

TEST_CASE("the table lists each (state, event) pair once and every row is reachable", "[worker][connection_state]") {
    std::set<std::pair<State, Event>> pairs;
    std::set<State> reached{State::not_started};
    for (const auto& row : kConnectionTransitions) {
        CHECK(pairs.emplace(row.from, row.event).second);
        CHECK(after(row.from, row.event) == row.to);
        reached.insert(row.to);
    }
    CHECK(reached.size() == kConnectionStateCount);
    std::size_t cells = 0;
    for (std::size_t state = 0; state < kConnectionStateCount; ++state) {
        for (std::size_t event = 0; event < kConnectionEventCount; ++event) {
            if (after(state_at(state), event_at(event))) ++cells;
        }
    }
    CHECK(cells == kConnectionTransitions.size());
}

TEST_CASE("the DEALER is open exactly in the states that talk to the broker", "[worker][connection_state]") {
    CHECK_FALSE(has_socket(State::not_started));
    CHECK(has_socket(State::connecting));
    CHECK_FALSE(has_socket(State::waiting_to_reconnect));
    CHECK(has_socket(State::ready));
    CHECK(has_socket(State::serving));
    CHECK(has_socket(State::draining));
    CHECK_FALSE(has_socket(State::draining_disconnected));
    CHECK_FALSE(has_socket(State::gone));
    CHECK(is_draining(State::draining));
    CHECK(is_draining(State::draining_disconnected));
    CHECK_FALSE(is_draining(State::serving));
}
