// An Outbox that decodes and keeps what the Scheduler sends, for assertions; a peer can be
// marked unreachable to play a vanished connection.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/codec.hpp"

namespace corsair::broker::test {

class RecordingOutbox : public Outbox {
public:
    protocol::SendStatus to_worker(const RoutingId& worker, protocol::Frames& frames) override {
        return record(worker, frames, to_workers);
    }
    protocol::SendStatus to_producer(const RoutingId& producer, protocol::Frames& frames) override {
        return record(producer, frames, to_producers);
    }

    // Removes and returns every message sent to `peer` of type T, in order.
    template <class T>
    std::vector<T> take(std::map<RoutingId, std::deque<protocol::Message>>& box, const RoutingId& peer) {
        std::vector<T> found;
        auto& messages = box[peer];
        for (auto it = messages.begin(); it != messages.end();) {
            if (auto* m = std::get_if<T>(&*it)) {
                found.push_back(std::move(*m));
                it = messages.erase(it);
            } else {
                ++it;
            }
        }
        return found;
    }
    template <class T>
    std::vector<T> to_worker_of(const RoutingId& worker) {
        return take<T>(to_workers, worker);
    }
    template <class T>
    std::vector<T> to_producer_of(const RoutingId& producer) {
        return take<T>(to_producers, producer);
    }

    std::set<RoutingId> unreachable;
    std::set<RoutingId> congested;
    std::map<RoutingId, std::deque<protocol::Message>> to_workers;
    std::map<RoutingId, std::deque<protocol::Message>> to_producers;

private:
    protocol::SendStatus record(const RoutingId& peer, protocol::Frames& frames,
                                std::map<RoutingId, std::deque<protocol::Message>>& box) {
        if (unreachable.count(peer)) return protocol::SendStatus::host_unreachable;
        if (congested.count(peer)) return protocol::SendStatus::would_block;
        auto decoded = protocol::decode(frames);
        if (!decoded) throw std::logic_error("scheduler sent an undecodable message");
        box[peer].push_back(std::move(decoded).value());
        frames.clear();
        return protocol::SendStatus::sent;
    }
};

}  // namespace corsair::broker::test
