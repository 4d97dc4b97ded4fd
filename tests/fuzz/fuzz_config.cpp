// Fuzz target for the config loader: any bytes give a Config or a ConfigError,
// never a crash, and an accepted Config always satisfies the schema's rules.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_config: %s\n", what);
  std::abort();
}

void check_accepted(const deskline::config::Config& config) {
  if (config.usb_match.empty()) fail("accepted an empty usb match list");
  if (config.data_dir.empty() || !config.data_dir.is_absolute()) fail("data_dir not absolute");
  if (config.run_dir.empty() || !config.run_dir.is_absolute()) fail("run_dir not absolute");
  for (double timeout : {config.ring_timeout_s, config.inter_digit_timeout_s})
    if (!std::isfinite(timeout) || timeout <= 0 || timeout > 60) fail("timeout out of range");
  std::set<std::string> names;
  std::set<std::pair<std::string, int>> ports;
  for (const auto& line : config.lines) {
    if (line.port < 1 || line.port > 16) fail("port out of range");
    if (line.name.empty() || line.box.empty()) fail("empty line name or box");
    if (!names.insert(line.name).second) fail("duplicate line name accepted");
    if (!ports.insert({line.box, line.port}).second) fail("duplicate box and port accepted");
    if (config.line_name(line.box, line.port) != line.name) fail("line_name disagrees with lines");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = deskline::config::parse(text, "/etc/deskline/fuzz.toml");
  if (result) {
    check_accepted(*result.config);
  } else {
    if (result.error.message.empty()) fail("error without a message");
    if (result.error.line < 0 || result.error.column < 0) fail("negative error position");
    if (result.error.to_string().empty()) fail("empty error text");
  }
  return 0;
}
