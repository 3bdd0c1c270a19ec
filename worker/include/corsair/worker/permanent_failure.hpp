// PermanentFailure: thrown by a handler whose job can never succeed (bad input, a missing
// resource that will stay missing). The worker sends FAIL with is_permanent, and the broker
// skips the job's remaining attempts: the job goes straight to its queue's dead set.
#pragma once

#include <stdexcept>

namespace corsair::worker {

class PermanentFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace corsair::worker
