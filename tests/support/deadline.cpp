#include "deadline.hpp"

#include <cstdlib>
#include <thread>

namespace corsair::test {

double time_scale() {
    const char* text = std::getenv("CORSAIR_TEST_TIME_SCALE");
    const double value = text == nullptr ? 1.0 : std::strtod(text, nullptr);
    return value >= 1.0 ? value : 1.0;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds timeout) {
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(timeout.count() * time_scale()));
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
    const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(step);  // polling interval of a bounded condition wait
    }
}

}  // namespace corsair::test
