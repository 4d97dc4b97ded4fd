#include "daemon/api/pop_filter.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace deskline::daemon {

namespace {

proto::pop::FilterAnswer refuse(std::string what, std::string why) {
  return {std::nullopt, std::move(what), std::move(why)};
}

}  // namespace

proto::pop::FilterAnswer resolve_pop_filter(const proto::pop::ClientRequest& request, const config::Config& config,
                                            const config::DeskConfig* scope) {
  const auto name_of = [](const auto& named) -> const std::string& { return named.name; };
  const auto as_is = [](const std::string& name) -> const std::string& { return name; };
  if (request.desk) {
    const auto* desk = config.find_desk(*request.desk);
    if (!desk)
      return refuse("desk", fmt::format("no desk named \"{}\"{}", *request.desk,
                                        config::offered_names("desk", config.desks, name_of)));
    if (scope && desk->name != scope->name)
      return refuse("desk", fmt::format("this page is desk \"{}\"'s: it cannot follow desk \"{}\"", scope->name,
                                        desk->name));
    return {desk->lines, "", ""};
  }
  const auto& lines = request.lines.value_or(std::vector<std::string>{});
  for (const auto& name : lines) {
    if (!config.find_line(name))
      return refuse("lines",
                    fmt::format("no line named \"{}\"{}", name, config::offered_names("line", config.lines, name_of)));
    if (scope && std::find(scope->lines.begin(), scope->lines.end(), name) == scope->lines.end())
      return refuse("lines", fmt::format("line \"{}\" is not desk \"{}\"'s{}", name, scope->name,
                                         config::offered_names("line", scope->lines, as_is)));
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
