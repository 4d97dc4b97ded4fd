#include "tools/cli/language.hpp"

#include <clocale>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace deskline::tools {
namespace {

// The locale the environment asks for messages: LC_ALL, LC_MESSAGES, LANG,
// the first one set (POSIX); "" for none.
std::string_view requested_messages_locale() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"})
    if (const char* value = std::getenv(name); value && *value) return value;
  return {};
}

bool is_posix_locale(std::string_view locale) { return locale.empty() || locale == "C" || locale == "POSIX"; }

}  // namespace

void use_language_of_environment() {
  // Messages and the character set only: numbers, dates and sorting stay
  // those of the C locale, which JSON and the tables' formats depend on.
  const char* messages = std::setlocale(LC_MESSAGES, "");
  const char* characters = std::setlocale(LC_CTYPE, "");
  const auto requested = requested_messages_locale();
  if (messages == nullptr && !is_posix_locale(requested)) {
    // glibc's gettext follows LANGUAGE under any locale but plain "C", and
    // C.UTF-8 is built into glibc: the catalogue is found without the
    // locale's own data, and glibc's own messages (strerror) are not
    // turned into question marks for want of a character set.
    std::setlocale(LC_MESSAGES, "C.UTF-8");
    if (characters == nullptr) std::setlocale(LC_CTYPE, "C.UTF-8");
    const char* language = std::getenv("LANGUAGE");
    if (language == nullptr || *language == '\0') ::setenv("LANGUAGE", std::string(requested).c_str(), 1);
  }
  std::error_code error;
  const auto binary = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto beside = binary.parent_path().parent_path() / "share" / "locale";
  if (!error && std::filesystem::is_directory(beside, error)) ::bindtextdomain(text_domain, beside.c_str());
  // The catalogues are UTF-8, and so is every terminal the CLI is for.
  ::bind_textdomain_codeset(text_domain, "UTF-8");
}

}  // namespace deskline::tools
