// The journal cannot be used: a file or directory cannot be opened, locked, written or synced,
// or is not a journal this broker reads. Thrown at startup (caught once, in main) and by
// salvage; the writer thread never throws and reports its failures through JournalWriter.
#pragma once

#include <stdexcept>

namespace corsair::broker {

class JournalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace corsair::broker
