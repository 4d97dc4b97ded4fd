#include "proto/control.hpp"

#include <nlohmann/json.hpp>

namespace deskline::proto::control {

using nlohmann::json;

namespace {

ParsedRequest refuse(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

ParsedRequest parse_request(std::string_view line) {
  const auto in = json::parse(line, nullptr, false);
  if (in.is_discarded() || !in.is_object()) return refuse("request is not a JSON object");
  const auto cmd = in.find("cmd");
  if (cmd == in.end() || !cmd->is_string()) return refuse("request has no \"cmd\" string");
  const auto& name = cmd->get_ref<const std::string&>();

  Request request;
  if (name == "status") {
    request.command = Command::status;
  } else if (name == "calls") {
    request.command = Command::calls;
    if (const auto limit = in.find("limit"); limit != in.end()) {
      if (!limit->is_number_integer() || limit->get<std::int64_t>() < 0)
        return refuse("limit must be a non-negative integer");
      request.limit = limit->get<std::size_t>();
    }
  } else {
    return refuse("unknown cmd '" + name + "'");
  }
  return {request, {}};
}

}  // namespace deskline::proto::control
