// deskline tokens add|list|revoke: the pull API's tokens ([http]
// api_tokens_file, proto/api_tokens.hpp). The CLI edits the file itself, so
// it works with the daemon stopped; the daemon reads the file again on its
// next request once it changed. A new token is printed once and only its
// hash is kept. The file is replaced whole (temporary file, fsync, rename)
// under an exclusive lock on its folder, so two admins editing at once do
// not lose each other's change, and the daemon never reads half a file.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "proto/api_tokens.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/output_file.hpp"

namespace deskline::tools {
namespace {

namespace api_tokens = proto::api_tokens;
namespace fs = std::filesystem;

// Holds an exclusive flock(2) on a folder while the file in it is edited.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& folder) : fd_(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

// The file's entries; an empty list when it does not exist yet.
std::optional<std::vector<api_tokens::Entry>> read_entries(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::vector<api_tokens::Entry>();
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "deskline: " << trf("cannot read {}", path.string()) << "\n";
    return std::nullopt;
  }
  std::ostringstream text;
  text << file.rdbuf();
  auto parsed = api_tokens::parse(text.str());
  if (!parsed) {
    std::cerr << "deskline: "
              // TRANSLATORS: the tokens file, then what is wrong in it, in English ("line 3: ...").
              << trf("{} is refused ({}): fix or remove that line first", path.string(), parsed.describe()) << "\n";
    return std::nullopt;
  }
  return std::move(*parsed.entries);
}

// Replaces the file: mode 0640, the group of the file it replaces, or of its
// folder (the daemon's data folder) for a new one, so the daemon can read it.
bool write_entries(const fs::path& path, const std::vector<api_tokens::Entry>& entries) {
  struct stat owner {};
  if (::stat(path.c_str(), &owner) != 0 && ::stat(path.parent_path().c_str(), &owner) != 0) owner.st_gid = ::getgid();
  std::error_code error;
  auto file = OutputFile::create(path.string(), 0640, error);
  if (file && ::fchown(file->fd(), static_cast<uid_t>(-1), owner.st_gid) != 0)
    error = std::error_code(errno, std::generic_category());
  if (!error) {
    const auto text = api_tokens::format(entries);
    error = file->write_all({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  }
  if (!error) error = file->commit(/*replace=*/true);
  if (error) std::cerr << "deskline: " << trf("cannot write {}: {}", path.string(), error.message()) << "\n";
  return !error;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// Runs edit on the file's entries under the folder's lock; writes them back when it returns true.
template <typename Edit>
int edit_file(const fs::path& path, Edit&& edit) {
  // A folder made here (the daemon never started) is its data_dir to be: closed to others, or the daemon warns.
  if (std::error_code error; !fs::exists(path.parent_path(), error) && fs::create_directories(path.parent_path(), error))
    fs::permissions(path.parent_path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, error);
  FolderLock lock(path.parent_path());
  if (!lock) {
    std::cerr << "deskline: " << trf("cannot lock {}: {}", path.parent_path().string(), std::strerror(errno)) << "\n";
    return 1;
  }
  auto entries = read_entries(path);
  if (!entries) return 1;
  if (!edit(*entries)) return 1;
  return write_entries(path, *entries) ? 0 : 1;
}

int add_token(const fs::path& path, const std::string& name, bool as_json) {
  if (!api_tokens::valid_name(name)) {
    std::cerr << "deskline: "
              << trf("a token's name is 1 to {} letters, digits, '.', '_' or '-'", api_tokens::max_name_bytes) << "\n";
    return 1;
  }
  std::array<std::uint8_t, api_tokens::token_random_bytes> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    std::cerr << "deskline: " << trf("no random bytes: {}", std::strerror(errno)) << "\n";
    return 1;
  }
  const auto token = api_tokens::make_token(random);
  const int status = edit_file(path, [&](std::vector<api_tokens::Entry>& entries) {
    for (const auto& entry : entries)
      if (entry.name == name) {
        std::cerr << "deskline: " << trf("a token named {} exists (deskline tokens revoke {} first)", name, name)
                  << "\n";
        return false;
      }
    if (entries.size() >= api_tokens::max_tokens) {
      std::cerr << "deskline: " << trf("{} holds {} tokens already", path.string(), entries.size()) << "\n";
      return false;
    }
    entries.push_back({name, api_tokens::hash_token(token), utc_now()});
    return true;
  });
  if (status != 0) return status;
  if (as_json) std::cout << nlohmann::json{{"name", name}, {"token", token}, {"file", path.string()}}.dump(2) << "\n";
  else std::cout << token << "\n";
  // TRANSLATORS: the token's name, then the tokens file; "Authorization: Bearer <token>" is an HTTP header, as it is.
  std::cerr << trf("API token {} added to {}. It is shown only this once: send it as "
                   "\"Authorization: Bearer <token>\".",
                   name, path.string())
            << "\n";
  return 0;
}

int revoke_token(const fs::path& path, const std::string& name) {
  const int status = edit_file(path, [&](std::vector<api_tokens::Entry>& entries) {
    const auto before = entries.size();
    std::erase_if(entries, [&](const api_tokens::Entry& entry) { return entry.name == name; });
    if (entries.size() == before)
      std::cerr << "deskline: " << trf("no token named {} in {}", name, path.string()) << "\n";
    return entries.size() != before;
  });
  if (status == 0) std::cerr << trf("API token {} revoked", name) << "\n";
  return status;
}

int list_tokens(const fs::path& path, bool as_json) {
  const auto entries = read_entries(path);
  if (!entries) return 1;
  if (as_json) {
    auto list = nlohmann::json::array();
    for (const auto& entry : *entries) list.push_back({{"name", entry.name}, {"created", entry.created}});
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  if (entries->empty()) std::cout << trf("no API tokens in {}", path.string()) << "\n";
  for (const auto& entry : *entries)
    // TRANSLATORS: a line of `deskline tokens list`: the token's name, padded to 24 columns, and when it was made.
    std::cout << trf("{:<24} created {}", entry.name, entry.created) << "\n";
  return 0;
}

}  // namespace

void add_token_commands(CLI::App& app, CliContext& context) {
  struct Options {
    std::string name;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* tokens = app.add_subcommand("tokens", tr("API tokens of the pull API ([http] api_tokens_file)"));
  tokens->require_subcommand(1);
  auto* add = tokens->add_subcommand("add", tr("make a token named NAME; prints it once, keeps only its hash"));
  add->add_option("NAME", options->name, tr("who uses it, e.g. crm"))->required();
  add->add_flag("--json", options->json, tr("the name, token and file as JSON"));
  add->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? add_token(config->api_tokens_path(), options->name, options->json) : 2;
    };
  });
  auto* list = tokens->add_subcommand("list", tr("names and creation times of the tokens"));
  list->add_flag("--json", options->json, tr("JSON array instead of text"));
  list->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? list_tokens(config->api_tokens_path(), options->json) : 2;
    };
  });
  auto* revoke = tokens->add_subcommand("revoke", tr("remove the token named NAME (the daemon refuses it at once)"));
  revoke->add_option("NAME", options->name, tr("the token's name"))->required();
  revoke->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? revoke_token(config->api_tokens_path(), options->name) : 2;
    };
  });
}

}  // namespace deskline::tools
