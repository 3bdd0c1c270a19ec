// IntrusiveList: a FIFO of records linked through two pointer members of the records themselves
// (`prev` and `next` unless named otherwise), such as the broker's pending, lease and dead lists
// of jobs and the producer's lists of tracked jobs. Every operation is O(1) and allocates nothing;
// a record is in at most one list per pair of link members. The list does not own its records.
// Used by one thread, its owner's; not thread-safe.
//
// A record in several lists at once gives each its own pair of members:
//   IntrusiveList<Job, &Job::awaited_prev, &Job::awaited_next> awaited;
#pragma once

#include <cassert>
#include <cstddef>

namespace corsair::containers {

template <class Record, Record* Record::*Prev = &Record::prev, Record* Record::*Next = &Record::next>
class IntrusiveList {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    // The first record, or nullptr when empty; next() gives the rest.
    Record* front() const noexcept { return head_; }
    // The last record, or nullptr when empty; previous() gives the rest, backwards.
    Record* back() const noexcept { return tail_; }
    // The record after `record` in its list, or nullptr after the last.
    static Record* next(const Record* record) noexcept { return record->*Next; }
    // The record before `record` in its list, or nullptr before the first.
    static Record* previous(const Record* record) noexcept { return record->*Prev; }
    // Whether `record` is in this list, assuming it is in no other list over the same members.
    bool contains(const Record* record) const noexcept { return record->*Prev != nullptr || head_ == record; }

    void push_back(Record* record) noexcept {
        assert(record->*Prev == nullptr && record->*Next == nullptr && head_ != record);
        record->*Prev = tail_;
        if (tail_ != nullptr) {
            tail_->*Next = record;
        } else {
            head_ = record;
        }
        tail_ = record;
        ++size_;
    }
    void push_front(Record* record) noexcept {
        assert(record->*Prev == nullptr && record->*Next == nullptr && head_ != record);
        record->*Next = head_;
        if (head_ != nullptr) {
            head_->*Prev = record;
        } else {
            tail_ = record;
        }
        head_ = record;
        ++size_;
    }
    void pop_front() noexcept { erase(head_); }
    // `record` must be in this list.
    void erase(Record* record) noexcept {
        assert(size_ > 0);
        if (record->*Prev != nullptr) {
            (record->*Prev)->*Next = record->*Next;
        } else {
            assert(head_ == record);
            head_ = record->*Next;
        }
        if (record->*Next != nullptr) {
            (record->*Next)->*Prev = record->*Prev;
        } else {
            assert(tail_ == record);
            tail_ = record->*Prev;
        }
        record->*Prev = nullptr;
        record->*Next = nullptr;
        --size_;
    }

private:
    Record* head_ = nullptr;
    Record* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace corsair::containers
