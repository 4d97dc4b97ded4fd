#include "tools/cli/input_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tools/cli/language.hpp"

namespace deskline::tools {

std::string byte_size_text(std::uint64_t bytes) {
  if (bytes >= (1ULL << 30) && bytes % (1ULL << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (1ULL << 20) && bytes % (1ULL << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1ULL << 10) && bytes % (1ULL << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return trf("{} bytes", bytes);
}

std::optional<InputFile> open_input_file(const std::string& path, std::uint64_t max_bytes, std::string& why) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(status.st_mode)) {
    why = tr("is a directory");
    return std::nullopt;
  }
  if (!S_ISREG(status.st_mode)) {
    why = tr("is not a regular file");
    return std::nullopt;
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size > max_bytes) {
    why = trf("is {} bytes, more than the {} this command reads", size, byte_size_text(max_bytes));
    return std::nullopt;
  }
  InputFile file{std::ifstream(path, std::ios::binary), size};
  if (!file.stream) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  return file;
}

std::optional<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes, std::string& why) {
  auto file = open_input_file(path, max_bytes, why);
  if (!file) return std::nullopt;
  // Sized once from stat: no doubling of the buffer while reading. A file
  // that grew since is read to that size.
  std::string text(static_cast<std::size_t>(file->size), '\0');
  file->stream.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file->stream.bad()) {
    why = tr("I/O error");
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(file->stream.gcount()));
  return text;
}

}  // namespace deskline::tools
