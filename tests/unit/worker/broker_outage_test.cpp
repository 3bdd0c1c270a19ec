#include "broker_outage.hpp"

#include <catch2/catch.hpp>

using corsair::worker::BrokerOutage;
using namespace std::chrono_literals;

TEST_CASE("a worker cut off from its broker warns after the liveness window, then once a minute",
          "[worker][broker_outage]") {
    BrokerOutage outage;
    const auto heard = BrokerOutage::Clock::time_point{} + 1000s;
    CHECK_FALSE(outage.warning_due(heard + 1h));
    CHECK_FALSE(outage.next_warning());

    outage.begin(heard, 3s);  // lost: nothing heard since `heard`
    CHECK(outage.next_warning() == heard + 3s);
    CHECK_FALSE(outage.warning_due(heard + 2999ms));
    CHECK(outage.warning_due(heard + 3s) == std::chrono::steady_clock::duration(3s));
    CHECK_FALSE(outage.warning_due(heard + 4s));  // a reconnect later: no second warning yet
    outage.begin(heard + 10s, 3s);                // a failed reconnect does not restart the count
    CHECK_FALSE(outage.warning_due(heard + 62s));
    CHECK(outage.warning_due(heard + 63s) == std::chrono::steady_clock::duration(63s));
    CHECK(outage.warning_due(heard + 10min) == std::chrono::steady_clock::duration(10min));
    CHECK_FALSE(outage.warning_due(heard + 10min + 59s));

    CHECK(outage.end(heard + 11min) == std::chrono::steady_clock::duration(11min));
    CHECK_FALSE(outage.warning_due(heard + 1h));
    CHECK_FALSE(outage.end(heard + 1h));
}
