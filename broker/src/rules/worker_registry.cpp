#include "worker_registry.hpp"

#include <cassert>
#include <iterator>

#include "queue_state.hpp"

namespace corsair::broker {

WorkerRecord* WorkerRegistry::find(const RoutingId& routing_id) {
    auto found = workers_.find(routing_id);
    return found == workers_.end() ? nullptr : &found->second;
}

WorkerRecord* WorkerRegistry::find_named(const std::string& name) {
    auto found = named_.find(name);
    return found == named_.end() ? nullptr : find(found->second);
}

bool WorkerRegistry::has_room_for(const RoutingId& routing_id, std::string_view address) const {
    return max_workers_ == 0 || address.empty() || networked_ < max_workers_ ||
           workers_.find(routing_id) != workers_.end();
}

std::pair<WorkerRecord*, bool> WorkerRegistry::announce(const RoutingId& routing_id, const std::string& name,
                                                        std::vector<std::string> queues,
                                                        std::vector<QueueState*> served, std::uint32_t capacity,
                                                        std::uint32_t batch, TimePoint now, std::uint64_t instance,
                                                        std::string_view address, std::uint32_t prefetch,
                                                        bool heartbeats_when_idle) {
    auto [it, is_new] = workers_.try_emplace(routing_id);
    WorkerRecord& worker = it->second;
    if (is_new) {
        worker.address = address;
        if (!worker.address.empty()) ++networked_;
    }
    if (worker.listing != Listing::none) unlist_idle(worker);
    if (!is_new) {
        forget_name(worker);
        forget_ready_holder(worker);  // its queues may change
    }
    worker.routing_id = routing_id;
    worker.name = name.empty() ? "anonymous" : name;
    if (!name.empty()) named_[name] = routing_id;
    worker.instance = instance;
    worker.queues = std::move(queues);
    worker.served = std::move(served);
    worker.capacity = capacity;
    worker.prefetch = prefetch;
    worker.batch = batch;
    worker.heartbeats_when_idle = heartbeats_when_idle;
    worker.last_heard = now;
    worker.state = WorkerState::serving;  // READY starts a session whatever came before
    return {&worker, is_new};
}

void WorkerRegistry::move_worker(WorkerRecord& worker, WorkerState to) {
    if (worker.state == to) return;
    assert(is_allowed(worker.state, to));
    worker.state = to;
    refresh_listing(worker);
}

void WorkerRegistry::heard_from(WorkerRecord& worker, TimePoint now) {
    worker.last_heard = now;
    if (worker.state == WorkerState::congested) move_worker(worker, WorkerState::serving);
}

void WorkerRegistry::refresh_listing(WorkerRecord& worker) {
    const Listing wanted = worker.wanted_listing();
    if (wanted == worker.listing) return;
    if (worker.listing != Listing::none) unlist_idle(worker);
    if (wanted != Listing::none) list_idle(worker, wanted);
}

void WorkerRegistry::note_leased(WorkerRecord& worker, QueueState& queue) {
    if (worker.wanted_listing() != worker.listing) {
        refresh_listing(worker);
        return;
    }
    for (std::size_t i = 0; i < worker.served.size(); ++i) {
        if (worker.served[i] == &queue) {
            auto& list = idle_list(queue, worker.listing);
            list.splice(list.end(), list, worker.idle_positions[i]);
        }
    }
}

void WorkerRegistry::erase(WorkerRecord& worker) {
    assert(worker.leases.empty());
    if (worker.listing != Listing::none) unlist_idle(worker);
    forget_name(worker);
    forget_ready_holder(worker);
    if (!worker.address.empty()) --networked_;
    const RoutingId routing_id = worker.routing_id;
    workers_.erase(routing_id);
}

void WorkerRegistry::forget_name(const WorkerRecord& worker) {
    auto found = named_.find(worker.name);
    if (found != named_.end() && found->second == worker.routing_id) named_.erase(found);
}

void WorkerRegistry::forget_ready_holder(WorkerRecord& worker) {
    for (QueueState* queue : worker.served) queue->ready_holders.erase(&worker);
}

std::list<WorkerRecord*>& WorkerRegistry::idle_list(QueueState& queue, Listing listing) {
    assert(listing != Listing::none);
    return listing == Listing::free_slot ? queue.idle_workers : queue.prefetching_workers;
}

void WorkerRegistry::list_idle(WorkerRecord& worker, Listing listing) {
    worker.idle_positions.clear();
    const bool goes_first = listing == Listing::free_slot && worker.is_warm();
    for (QueueState* queue : worker.served) {
        auto& list = idle_list(*queue, listing);
        if (worker.parked_nodes.empty()) worker.parked_nodes.push_back(&worker);
        const auto position = worker.parked_nodes.begin();
        list.splice(goes_first ? list.begin() : list.end(), worker.parked_nodes, position);
        worker.idle_positions.push_back(position);
        // A free slot with nothing pending may take back a job another worker holds ready.
        const bool may_recall = listing == Listing::free_slot && !queue->ready_holders.empty();
        if (!queue->pending.empty() || may_recall) dirty_.mark(*queue);
    }
    worker.listing = listing;
}

void WorkerRegistry::unlist_idle(WorkerRecord& worker) {
    for (std::size_t i = 0; i < worker.served.size() && i < worker.idle_positions.size(); ++i) {
        worker.parked_nodes.splice(worker.parked_nodes.end(), idle_list(*worker.served[i], worker.listing),
                                   worker.idle_positions[i]);
    }
    worker.idle_positions.clear();
    worker.listing = Listing::none;
}

}  // namespace corsair::broker
