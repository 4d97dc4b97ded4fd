#include "daemon/calls/uuid.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <random>
#include <span>

#include "proto/bytes.hpp"

namespace deskline::daemon {

std::string make_uuid() {
  std::array<std::uint8_t, 16> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    std::random_device fallback;  // getrandom only fails before the pool is seeded
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(fallback());
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);
  const std::span<const std::uint8_t> all(bytes);
  return proto::to_hex(all.subspan(0, 4)) + '-' + proto::to_hex(all.subspan(4, 2)) + '-' +
         proto::to_hex(all.subspan(6, 2)) + '-' + proto::to_hex(all.subspan(8, 2)) + '-' +
         proto::to_hex(all.subspan(10, 6));
}

}  // namespace deskline::daemon
