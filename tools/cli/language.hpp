// The language the CLI speaks: English (the messages as written in the
// source) or Simplified Chinese (tools/cli/po/zh_CN.po), chosen as gettext
// chooses: LANGUAGE, then LC_ALL, LC_MESSAGES and LANG. Data (--json, files)
// is never translated, nor are the daemon's and the configuration checker's
// own messages, which the CLI quotes as they come (they are the journal's).
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>
#include <libintl.h>

namespace deskline::tools {

inline constexpr const char* text_domain = "deskline";

// Reads the environment and finds the catalogues: in ../share/locale from the
// running binary (the build tree, or /usr/share/locale when installed). Where
// the user's locale is not generated on this machine (a container with
// LANG=zh_CN.UTF-8 and no locale data), the messages still follow it.
void use_language_of_environment();

// The message in the user's language; English where it has no translation.
inline const char* tr(const char* english) { return ::dgettext(text_domain, english); }

// Marks a message for the catalogue where tr() is called on it later (a
// table of words, say).
constexpr const char* translatable(const char* english) { return english; }

// tr, then fmt's {} placeholders filled in (the catalogue check makes sure a
// translation has the same placeholders as its English).
template <typename... Args>
std::string trf(const char* english, Args&&... args) {
  return fmt::format(fmt::runtime(tr(english)), std::forward<Args>(args)...);
}

// trf for a message about a count: gettext picks the form the language uses
// for `count` (English: one or other; Chinese has one form for all).
template <typename... Args>
std::string trn(const char* english_one, const char* english_other, unsigned long count, Args&&... args) {
  return fmt::format(fmt::runtime(::dngettext(text_domain, english_one, english_other, count)),
                     std::forward<Args>(args)...);
}

}  // namespace deskline::tools
