// The call entry, version 1 (proto/crm.md section 3): what the CRM's
// timeline gets for a call. Pure: the same call, recording and revision give
// the same bytes (a retry of one webhook-id must send the same body).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/domain/call.hpp"

namespace deskline::daemon {

// The JSON text of the entry for an ended call. recording: the call's row,
// if any; only a file the CRM can fetch (complete, truncated, repaired) is
// described, anything else gives "recording": null.
std::string call_entry_json(const CallRecord& call, const std::optional<RecordingRecord>& recording,
                            std::int64_t revision);

// Whether a recording in this state has a file worth uploading.
bool uploadable(RecordingState state);

}  // namespace deskline::daemon
