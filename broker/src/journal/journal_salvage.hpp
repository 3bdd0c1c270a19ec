// Recovering what can be recovered from a damaged journal, for an operator to run when the
// reader reports corruption. Blocks on disk; any thread.
//
// Approach: the output gets a fresh header, then every intact record of the input, copied byte
// for byte, in order. The input's header is skipped unread (so a damaged header does not stop
// salvage). At each offset, an intact frame whose body decodes is copied and the scan jumps past
// it; anything else starts a damaged region, and the scan resynchronises at the next offset
// where a whole frame validates (find_next_record: plausible length, known type, msgpack map,
// matching CRC-32C, decodable body). Every byte in between is counted as skipped. A torn tail is
// a damaged region that runs to the end of the file.
//
// What is lost: the records inside damaged regions, so the rebuilt state may miss some changes
// (a job may come back pending that had finished, or miss a submit). The report names the jobs
// that may be affected, so an operator can check them (`corsair status ID`): every job id still
// legible in a damaged region (an `id` field in the record encoding), and every job with kept
// records but no kept submit (its submit was in a damaged region, so replay drops the job). The broker replays the
// output like any journal. See journal_record.hpp for the one way a payload's bytes could be
// mistaken for a record while scanning a damaged region.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace corsair::broker {

struct SalvageReport {
    std::uint64_t records_kept = 0;
    std::uint64_t bytes_skipped = 0;    // input bytes after the header not copied
    std::uint64_t damaged_regions = 0;  // runs of skipped bytes
    std::vector<std::string> affected_ids;  // jobs whose history may be incomplete, sorted
};

// Writes the intact records of `path_in` to `path_out`, which must not exist, and syncs it and
// its directory. Throws JournalError if the input cannot be read or the output cannot be
// created, written or synced (a partial output is then removed).
SalvageReport salvage_journal(const std::filesystem::path& path_in, const std::filesystem::path& path_out);

}  // namespace corsair::broker
