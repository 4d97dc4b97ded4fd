// Fuzz target: the tags of a recording file, as `recordings check --reattach`
// reads them from a file nobody vouches for: one comment per input line,
// parsed into a call's tags; the start time alone through parse_iso8601.
// Accepted tags must become rows whose JSON can always be written (the
// daemon answers with it), and a refusal always carries its reason.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/call_json.hpp"
#include "daemon/domain/recording_tags.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace deskline::daemon;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_iso8601(input);

  std::vector<std::string> comments;
  for (std::size_t start = 0; start <= input.size();) {
    const auto end = std::min(input.find('\n', start), input.size());
    comments.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  const auto parsed = parse_recording_comments(comments);
  if (!parsed) {
    if (parsed.reason.empty()) std::abort();
    return 0;
  }
  const auto& tags = *parsed.tags;
  if (tags.call_id.size() != 36 || tags.port < 1 || tags.port > max_tag_port || tags.line.empty()) std::abort();
  const auto rows = reattached_records(tags, {"/recordings/" + tags.call_id + ".opus", size % 2 == 0, "cut", 1.5,
                                              size, ""},
                                       0);
  // Throws (and so aborts) on anything that is not UTF-8.
  (void)call_to_json(rows.call).dump();
  (void)recording_to_json(rows.recording, rows.call).dump();
  // What the recorder would write for these rows reads back the same way
  // (but for the time: strftime writes years before 1000 in fewer digits).
  const auto again = parse_recording_comments(recording_comments(rows.call, tags.started_at));
  if (!again && again.error != RecordingTagError::bad_start_time) std::abort();
  if (again && (again.tags->call_id != tags.call_id || again.tags->line != tags.line ||
                again.tags->number != tags.number || again.tags->caller_name != tags.caller_name))
    std::abort();
  return 0;
}
