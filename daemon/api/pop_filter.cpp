#include "daemon/api/pop_filter.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace deskline::daemon {

namespace {

// ` (lines: "Sales 1", "Sales 2")`: what could have been named instead.
template <typename Range, typename Name>
std::string choices(std::string_view what, const Range& range, Name name) {
  if (range.empty()) return fmt::format(" (no {} is configured)", what);
  std::string text = fmt::format(" ({}s: ", what);
  for (const auto& item : range) text += fmt::format("{}\"{}\"", &item == &range.front() ? "" : ", ", name(item));
  return text + ")";
}

proto::pop::FilterAnswer refuse(std::string what, std::string why) {
  return {std::nullopt, std::move(what), std::move(why)};
}

}  // namespace

proto::pop::FilterAnswer resolve_pop_filter(const proto::pop::ClientRequest& request, const config::Config& config,
                                            const config::DeskConfig* scope) {
  const auto line_name = [](const auto& line) -> const std::string& { return line.name; };
  const auto as_is = [](const std::string& name) -> const std::string& { return name; };
  if (request.desk) {
    const auto* desk = config.find_desk(*request.desk);
    if (!desk)
      return refuse("desk", fmt::format("no desk named \"{}\"{}", *request.desk,
                                        choices("desk", config.desks, line_name)));
    if (scope && desk->name != scope->name)
      return refuse("desk", fmt::format("this page is desk \"{}\"'s: it cannot follow desk \"{}\"", scope->name,
                                        desk->name));
    return {desk->lines, "", ""};
  }
  const auto& lines = request.lines.value_or(std::vector<std::string>{});
  for (const auto& name : lines) {
    if (!config.find_line(name))
      return refuse("lines", fmt::format("no line named \"{}\"{}", name, choices("line", config.lines, line_name)));
    if (scope && std::find(scope->lines.begin(), scope->lines.end(), name) == scope->lines.end())
      return refuse("lines", fmt::format("line \"{}\" is not desk \"{}\"'s{}", name, scope->name,
                                         choices("line", scope->lines, as_is)));
  }
  return {lines, "", ""};
}

proto::pop::Hello scoped_hello(std::string stream, std::uint64_t last_seq, const config::Config& config,
                               const config::DeskConfig* scope) {
  proto::pop::Hello hello;
  hello.stream = std::move(stream);
  hello.last_seq = last_seq;
  if (scope) {
    hello.desk = scope->name;
    hello.may_listen = scope->may_listen;
    for (const auto& name : scope->lines) {
      const auto* line = config.find_line(name);
      hello.lines.push_back({name, line ? line->user : ""});
    }
  } else {
    for (const auto& line : config.lines) hello.lines.push_back({line.name, line.user});
  }
  return hello;
}

}  // namespace deskline::daemon
