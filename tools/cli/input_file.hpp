// A file a command reads: a regular file of at most max_bytes. A directory,
// a device or a FIFO (reading /dev/zero never ends) and a larger file are
// refused with the reason before anything is read.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace deskline::tools {

struct InputFile {
  std::ifstream stream;  // binary
  std::uint64_t size = 0;
};

// nullopt when the file cannot be used, with why ("is a directory").
std::optional<InputFile> open_input_file(const std::string& path, std::uint64_t max_bytes, std::string& why);

// The whole file, or nullopt with why.
std::optional<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes, std::string& why);

// "1 MiB", "16 GiB": for limits in messages.
std::string byte_size_text(std::uint64_t bytes);

}  // namespace deskline::tools
