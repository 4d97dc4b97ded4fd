#include "tools/sim/uevent.hpp"

#include <arpa/inet.h>
#include <glob.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace deskline::sim {
namespace {

// Header libudev puts before the properties of a monitor message. Receivers
// check the prefix and magic, and their socket filters compare the hashes of
// SUBSYSTEM and DEVTYPE, so those must be right.
struct MonitorHeader {
  char prefix[8];                       // "libudev"
  std::uint32_t magic;                  // 0xfeedcafe, network order
  std::uint32_t header_size;
  std::uint32_t properties_offset;
  std::uint32_t properties_length;
  std::uint32_t subsystem_hash;         // network order
  std::uint32_t devtype_hash;           // network order
  std::uint32_t tag_bloom_high;
  std::uint32_t tag_bloom_low;
};
constexpr std::uint32_t monitor_magic = 0xfeedcafe;

// MurmurHash2 (32-bit, seed = length), the hash libudev filters by.
std::uint32_t murmur_hash2(const std::string& text) {
  constexpr std::uint32_t multiplier = 0x5bd1e995;
  constexpr int shift = 24;
  std::uint32_t hash = static_cast<std::uint32_t>(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t remaining = text.size();
  while (remaining >= 4) {
    std::uint32_t block = 0;
    // Host byte order, not a little-endian field: libudev hashes with the
    // reference MurmurHash2, whose result depends on the host's byte order.
    std::memcpy(&block, bytes, 4);
    block *= multiplier;
    block ^= block >> shift;
    block *= multiplier;
    hash *= multiplier;
    hash ^= block;
    bytes += 4;
    remaining -= 4;
  }
  if (remaining == 3) hash ^= static_cast<std::uint32_t>(bytes[2]) << 16;
  if (remaining >= 2) hash ^= static_cast<std::uint32_t>(bytes[1]) << 8;
  if (remaining >= 1) {
    hash ^= bytes[0];
    hash *= multiplier;
  }
  hash ^= hash >> 13;
  hash *= multiplier;
  hash ^= hash >> 15;
  return hash;
}

}  // namespace

int send_uevent(const std::string& testbed_root, const Uevent& event) {
  static std::atomic<unsigned long long> sequence_number{1};
  // NUL-separated KEY=value list.
  std::string properties;
  auto add = [&](const std::string& key, const std::string& value) {
    properties += key + "=" + value;
    properties.push_back('\0');
  };
  add("ACTION", event.action);
  add("DEVPATH", event.devpath);
  add("SUBSYSTEM", event.subsystem);
  add("SEQNUM", std::to_string(sequence_number++));
  if (!event.devtype.empty()) add("DEVTYPE", event.devtype);
  for (const auto& [key, value] : event.properties) add(key, value);

  MonitorHeader header{};
  std::memcpy(header.prefix, "libudev", 8);
  header.magic = htonl(monitor_magic);
  header.header_size = sizeof header;
  header.properties_offset = sizeof header;
  header.properties_length = static_cast<std::uint32_t>(properties.size());
  header.subsystem_hash = htonl(murmur_hash2(event.subsystem));
  if (!event.devtype.empty()) header.devtype_hash = htonl(murmur_hash2(event.devtype));

  iovec parts[2] = {{&header, sizeof header}, {properties.data(), properties.size()}};
  glob_t sockets{};
  int reached = 0;
  const std::string pattern = testbed_root + "/event[0-9]*";
  if (glob(pattern.c_str(), GLOB_NOSORT, nullptr, &sockets) == 0) {
    for (std::size_t index = 0; index < sockets.gl_pathc; ++index) {
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, sockets.gl_pathv[index], sizeof address.sun_path - 1);
      const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) continue;
      msghdr message{};
      message.msg_name = &address;
      message.msg_namelen = sizeof address;
      message.msg_iov = parts;
      message.msg_iovlen = 2;
      // A monitor its program already closed refuses the connection: skip it.
      if (sendmsg(fd, &message, MSG_NOSIGNAL) >= 0) ++reached;
      close(fd);
    }
  }
  globfree(&sockets);
  return reached;
}

}  // namespace deskline::sim
