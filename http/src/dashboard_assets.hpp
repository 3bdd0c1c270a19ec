// The dashboard's files (http/dashboard/), built into the binary by embed_assets.cmake, so that
// the broker serves them with nothing installed beside it and nothing fetched. Read-only after
// static initialisation; any thread may read them.
#pragma once

#include <string_view>
#include <vector>

namespace corsair::http {

struct DashboardAsset {
    std::string_view name;   // the file name, e.g. "dashboard.js"
    std::string_view bytes;  // the file's bytes, as they are in the source tree
};

// Every embedded file, in the order http/CMakeLists.txt lists them.
const std::vector<DashboardAsset>& dashboard_assets();

}  // namespace corsair::http
