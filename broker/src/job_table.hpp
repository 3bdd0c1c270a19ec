// The broker's records by id (jobs, kept results): the shared IdTable (corsair/containers). Owned
// by the broker's loop thread.
#pragma once

#include "corsair/containers/id_table.hpp"

namespace corsair::broker {

// A class rather than an alias because scheduler.hpp forward-declares `JobTable` as a class.
template <class Record>
class JobTable : public containers::IdTable<Record> {};

}  // namespace corsair::broker
