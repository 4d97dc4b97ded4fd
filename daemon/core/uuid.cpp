#include "daemon/core/uuid.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <random>

#include <fmt/format.h>

namespace deskline::daemon {

std::string make_uuid() {
  std::array<std::uint8_t, 16> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    std::random_device fallback;  // getrandom only fails before the pool is seeded
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(fallback());
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += fmt::format("{:02x}", bytes[i]);
  }
  return text;
}

}  // namespace deskline::daemon
