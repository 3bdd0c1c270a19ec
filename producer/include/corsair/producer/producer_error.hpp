// ProducerError: why a blocking Producer call failed. Thrown only by calls that block or validate
// input, and by poll() when the broker has gone silent; the event loop never throws on peer input.
#pragma once

#include <stdexcept>
#include <string>

#include "corsair/protocol/error_code.hpp"

namespace corsair::producer {

class ProducerError : public std::runtime_error {
public:
    enum class Kind {
        refused,        // the broker answered ERROR; code() is its code
        invalid,        // rejected before sending (queue name, job id or payload breaks a protocol limit)
        timeout,        // no answer before the deadline; code() is `internal` (the call may be retried)
        broker_silent,  // nothing heard from the broker past ProducerOptions::silence_limit; code() is `internal`
    };

    ProducerError(Kind kind, protocol::ErrorCode code, const std::string& message, std::string broker_message = {})
        : std::runtime_error(message), kind_(kind), code_(code), broker_message_(std::move(broker_message)) {}

    Kind kind() const noexcept { return kind_; }
    protocol::ErrorCode code() const noexcept { return code_; }
    // refused: the `message` of the broker's ERROR as it came (what() wraps it in context).
    const std::string& broker_message() const noexcept { return broker_message_; }
    bool is_timeout() const noexcept { return kind_ == Kind::timeout; }
    bool is_broker_silent() const noexcept { return kind_ == Kind::broker_silent; }

private:
    Kind kind_;
    protocol::ErrorCode code_;
    std::string broker_message_;
};

}  // namespace corsair::producer
