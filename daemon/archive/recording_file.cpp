#include "daemon/archive/recording_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "codec/ogg_repair.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;

class ArchiveCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "archive"; }
  std::string message(int code) const override {
    switch (static_cast<ArchiveError>(code)) {
      case ArchiveError::outside_recordings: return "not under the recordings folder";
      case ArchiveError::not_a_recording: return "not a recording file";
      case ArchiveError::too_large: return "too large to check here";
      case ArchiveError::not_ogg_opus: return "not a readable Ogg Opus file";
      case ArchiveError::bad_tags: return "its tags do not describe a Deskline call";
      case ArchiveError::name_mismatch: return "its name does not match its call id";
      case ArchiveError::already_attached: return "the call already has a recording";
    }
    return "unknown archive error";
  }
};

struct DigestDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

std::string hex(const std::uint8_t* bytes, unsigned int length) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    text.push_back(digits[bytes[i] >> 4]);
    text.push_back(digits[bytes[i] & 0x0F]);
  }
  return text;
}

Error io_error(int error_number, const fs::path& path, std::string_view what) {
  return Error{{error_number, std::generic_category()},
               fmt::format("{}: {}: {}", path.string(), what, std::strerror(error_number))};
}

// The whole file, if it is a regular file of at most max_bytes.
Result<std::vector<std::uint8_t>> read_file(const fs::path& path, std::uint64_t max_bytes) {
  // O_NOFOLLOW: a link planted in the recordings folder is not followed out of it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return errno == ELOOP ? Error{ArchiveError::not_a_recording, fmt::format("{}: a symbolic link", path.string())}
                          : io_error(errno, path, "cannot open");
  std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* owned) {
    ::close(*owned);
    delete owned;
  });
  struct stat info {};
  if (::fstat(fd, &info) != 0) return io_error(errno, path, "cannot stat");
  if (!S_ISREG(info.st_mode))
    return Error{ArchiveError::not_a_recording, fmt::format("{}: not a regular file", path.string())};
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes)
    return Error{ArchiveError::too_large,
                 fmt::format("{}: {} MiB, more than the {} MiB checked here", path.string(), size >> 20, max_bytes >> 20)};
  std::vector<std::uint8_t> bytes(size);
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t count = ::read(fd, bytes.data() + filled, bytes.size() - filled);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return io_error(errno, path, "cannot read");
    if (count == 0) break;  // shrank while read: judge what is there
    filled += static_cast<std::size_t>(count);
  }
  bytes.resize(filled);
  return bytes;
}

}  // namespace

const std::error_category& archive_category() {
  static const ArchiveCategory category;
  return category;
}

std::error_code make_error_code(ArchiveError error) { return {static_cast<int>(error), archive_category()}; }

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> context(EVP_MD_CTX_new());
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &length) != 1)
    return "";
  return hex(digest, length);
}

std::string sha256_of_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> context(EVP_MD_CTX_new());
  bool good = context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1;
  std::uint8_t buffer[65536];
  ssize_t count = 0;
  while (good && (count = ::read(fd, buffer, sizeof buffer)) != 0) {
    if (count < 0 && errno == EINTR) continue;
    good = count > 0 && EVP_DigestUpdate(context.get(), buffer, static_cast<std::size_t>(count)) == 1;
  }
  ::close(fd);
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!good || EVP_DigestFinal_ex(context.get(), digest, &length) != 1) return "";
  return hex(digest, length);
}

Result<RecordingFileCheck> inspect_recording_file(const fs::path& path, bool with_sha256, std::uint64_t max_bytes) {
  auto bytes = read_file(path, max_bytes);
  if (!bytes) return bytes.error();
  const auto plan = codec::plan_ogg_repair(*bytes);
  if (plan.verdict == codec::RepairVerdict::refused)
    return Error{ArchiveError::not_ogg_opus, fmt::format("{}: {}", path.string(), plan.reason)};
  RecordingFileCheck check;
  check.facts.path = path.string();
  // A complete plan may still carry a remark (another stream follows): the
  // recording itself is whole.
  check.facts.closed = plan.verdict == codec::RepairVerdict::complete;
  if (!check.facts.closed) check.facts.problem = plan.reason;
  check.facts.duration_s = plan.duration_s();
  check.facts.bytes = bytes->size();
  if (with_sha256) check.facts.sha256 = sha256_hex(*bytes);
  check.tags = parse_recording_comments(plan.comments);
  return check;
}

Result<ReattachedRecording> reattach_recording_file(Store& store, const fs::path& recordings_dir, const fs::path& file,
                                                    WallTimeUs now, std::uint64_t max_bytes) {
  // Lexically first (no "..": the daemon is asked for a path by a client),
  // then with links resolved, so neither a name nor a link leads outside.
  const fs::path normal = file.lexically_normal();
  const fs::path relative = normal.lexically_relative(recordings_dir.lexically_normal());
  if (!file.is_absolute() || relative.empty() || *relative.begin() == ".." || *relative.begin() == ".")
    return Error{ArchiveError::outside_recordings,
                 fmt::format("{}: not under the recordings folder {}", file.string(), recordings_dir.string())};
  std::error_code error;
  const fs::path real_root = fs::weakly_canonical(recordings_dir, error);
  const fs::path real_file = error ? fs::path() : fs::weakly_canonical(normal, error);
  const fs::path real_relative = real_file.lexically_relative(real_root);
  if (error || real_relative.empty() || *real_relative.begin() == "..")
    return Error{ArchiveError::outside_recordings,
                 fmt::format("{}: not under the recordings folder {}", file.string(), recordings_dir.string())};
  // The name the recorder gives: recordings_dir/.../<call id>.opus.
  const fs::path stored = recordings_dir / relative;
  if (stored.extension() != ".opus")
    return Error{ArchiveError::not_a_recording, fmt::format("{}: not a .opus file", file.string())};

  auto check = inspect_recording_file(stored, /*with_sha256=*/true, max_bytes);
  if (!check) return check.error();
  if (!check->tags)
    return Error{ArchiveError::bad_tags, fmt::format("{}: {}", stored.string(), check->tags.reason)};
  const RecordingTags& tags = *check->tags.tags;
  if (stored.stem() != tags.call_id)
    return Error{ArchiveError::name_mismatch,
                 fmt::format("{}: named otherwise than its call {} ({}.opus)", stored.string(), tags.call_id,
                             tags.call_id)};
  const auto existing = store.find_recording(tags.call_id);
  if (!existing) return existing.error();
  if (*existing)
    return Error{ArchiveError::already_attached,
                 fmt::format("{}: call {} already has a recording{}", stored.string(), tags.call_id,
                             (*existing)->path.empty() ? std::string() : ", " + (*existing)->path)};
  const auto call = store.find_call(tags.call_id);
  if (!call) return call.error();

  auto records = reattached_records(tags, check->facts, now);
  if (auto written = store.insert_reattached(*call ? nullptr : &records.call, records.recording, records.event);
      !written)
    return written.error();
  if (*call) records.call = **call;  // its surviving row is the truth
  return records;
}

}  // namespace deskline::daemon
