// Reading what a command printed for a terminal, independently of the code
// under test: its lines, and how many columns a line takes.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace deskline::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// Terminal columns of UTF-8 text without colour codes: Chinese characters
// (3-byte sequences from U+2E80) take two, the rest one (… included).
inline std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    const bool from_u2e80 =
        lead > 0xE2 || (lead == 0xE2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0xBA);
    width += length == 3 && from_u2e80 ? 2 : 1;
    i += length;
  }
  return width;
}

}  // namespace deskline::testing
