// Human-readable diagnostics on stderr, one line per message, each prefixed
// "deskline-sim:" so they stand apart from the child's output.
#pragma once

#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace deskline::sim {

void log_line(std::string_view message);

template <typename... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace deskline::sim
