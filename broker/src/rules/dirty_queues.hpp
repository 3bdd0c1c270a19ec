// The queues that may be able to dispatch after the event being handled: a job became pending,
// a worker got credit, a queue was resumed. Each is listed once; the Dispatcher takes them at the
// end of the event (or of the turn). Owned by the broker's loop thread.
#pragma once

#include <vector>

#include "queue_state.hpp"

namespace corsair::broker {

class DirtyQueues {
public:
    void mark(QueueState& queue) {
        if (queue.is_dirty) return;
        queue.is_dirty = true;
        queues_.push_back(&queue);
    }
    // The next dirty queue, no longer marked; nullptr when none is left.
    QueueState* take() {
        if (queues_.empty()) return nullptr;
        QueueState* queue = queues_.back();
        queues_.pop_back();
        queue->is_dirty = false;
        return queue;
    }

private:
    std::vector<QueueState*> queues_;
};

}  // namespace corsair::broker
