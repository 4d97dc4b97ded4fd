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
      if (!limit->is_number_integer() || limit->get<std::int64_t>() < 1 ||
          limit->get<std::int64_t>() > static_cast<std::int64_t>(max_calls_per_page))
        return refuse("limit must be an integer from 1 to " + std::to_string(max_calls_per_page));
      request.limit = limit->get<std::size_t>();
    }
    if (const auto before = in.find("before"); before != in.end()) {
      if (!before->is_string() || before->get_ref<const std::string&>().empty())
        return refuse("before must be a call id");
      request.before = before->get<std::string>();
    }
  } else if (name == "sync_status") {
    request.command = Command::sync_status;
  } else if (name == "sync_retry") {
    request.command = Command::sync_retry;
    const auto call_id = in.find("call_id");
    const auto parked = in.find("parked");
    const bool all_parked = parked != in.end() && parked->is_boolean() && parked->get<bool>();
    if (call_id != in.end()) {
      if (!call_id->is_string() || call_id->get_ref<const std::string&>().empty() ||
          call_id->get_ref<const std::string&>().size() > 64)
        return refuse("call_id must be a call id");
      request.call_id = call_id->get<std::string>();
    }
    if ((call_id != in.end()) == all_parked) return refuse("sync_retry needs either \"call_id\" or \"parked\": true");
  } else if (name == "reload") {
    request.command = Command::reload;
  } else if (name == "customers_sync") {
    request.command = Command::customers_sync;
  } else if (name == "reattach_recording") {
    request.command = Command::reattach_recording;
    const auto path = in.find("path");
    // Absolute: the daemon's working directory is nobody's business. The
    // daemon checks that it lies under its recordings folder.
    if (path == in.end() || !path->is_string() || !path->get_ref<const std::string&>().starts_with('/') ||
        path->get_ref<const std::string&>().find('\0') != std::string::npos)
      return refuse("path must be an absolute file path");
    request.path = path->get<std::string>();
  } else {
    return refuse("unknown cmd '" + name + "'");
  }
  return {request, {}};
}

Framed LineFramer::next(std::string& line) {
  const auto newline = pending_.find('\n');
  if (newline == std::string::npos)
    return pending_.size() >= max_request_bytes ? Framed::too_long : Framed::need_more;
  if (newline >= max_request_bytes) return Framed::too_long;
  line.assign(pending_, 0, newline);
  pending_.erase(0, newline + 1);
  return Framed::line;
}

}  // namespace deskline::proto::control
