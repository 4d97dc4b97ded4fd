#include "proto/pop.hpp"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace deskline::proto::pop {

using nlohmann::json;

namespace {

// nlohmann turns a float into an integer with a bare cast, undefined once it is out of range: an integer field
// takes a JSON integer that fits, anything else is a type error like a string would be.
template <typename Integer>
Integer fitting_integer(const json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number <= static_cast<std::uint64_t>(std::numeric_limits<Integer>::max())) return static_cast<Integer>(number);
  }
  throw json::type_error::create(302, "expected a non-negative integer that fits", &value);
}

}  // namespace

std::string to_json(const Event& event) {
  json out = {{"v", schema_version}, {"event", event.event}, {"seq", event.seq}, {"at", event.at}};
  if (!event.call_id.empty()) {
    json customers = json::array();
    for (const auto& customer : event.customers)
      customers.push_back(
          {{"id", customer.id}, {"name", customer.name}, {"company", customer.company}, {"url", customer.url}});
    out["call_id"] = event.call_id;
    out["line"] = event.line;
    out["direction"] = event.direction;
    out["number"] = event.number;
    out["number_display"] = event.number_display;
    if (event.privacy) out["privacy"] = *event.privacy;
    out["name"] = event.name;
    out["customers"] = customers;
    out["started_at"] = event.started_at;
    if (event.answered_at) out["answered_at"] = *event.answered_at;
  }
  if (event.outcome) out["outcome"] = *event.outcome;
  if (event.duration_s) out["duration_s"] = std::round(*event.duration_s * 1000) / 1000;
  if (event.flash_ms) out["flash_ms"] = *event.flash_ms;
  if (event.digits) out["digits"] = *event.digits;
  if (!event.box.empty()) out["box"] = event.box;
  if (event.port) out["port"] = *event.port;
  if (event.recording_path) out["recording_path"] = *event.recording_path;
  if (event.recording_bytes) out["recording_bytes"] = *event.recording_bytes;
  if (event.replay) out["replay"] = true;
  return out.dump();
}

std::optional<Event> event_from_json(std::string_view text) {
  const auto in = json::parse(text, nullptr, false);
  if (!in.is_object()) return std::nullopt;
  // Every typed read below may throw type_error on a hostile document; all of them stay inside the try.
  try {
    if (in.value("v", json()) != schema_version) return std::nullopt;
    Event event;
    event.event = in.at("event").get<std::string>();
    event.seq = fitting_integer<std::uint64_t>(in.at("seq"));
    event.at = in.at("at").get<std::string>();
    event.call_id = in.value("call_id", "");
    event.line = in.value("line", "");
    event.direction = in.value("direction", "");
    event.number = in.value("number", "");
    event.number_display = in.value("number_display", "");
    if (in.contains("privacy")) event.privacy = in["privacy"].get<std::string>();
    event.name = in.value("name", "");
    const auto customers = in.value("customers", json::array());
    if (!customers.is_array()) return std::nullopt;
    for (const auto& customer : customers)
      event.customers.push_back({customer.at("id").get<std::string>(), customer.at("name").get<std::string>(),
                                 customer.at("company").get<std::string>(), customer.at("url").get<std::string>()});
    event.started_at = in.value("started_at", "");
    if (in.contains("answered_at")) event.answered_at = in["answered_at"].get<std::string>();
    if (in.contains("outcome")) event.outcome = in["outcome"].get<std::string>();
    if (in.contains("duration_s")) event.duration_s = in["duration_s"].get<double>();
    if (in.contains("flash_ms")) event.flash_ms = fitting_integer<std::uint32_t>(in["flash_ms"]);
    if (in.contains("digits")) event.digits = in["digits"].get<std::string>();
    event.box = in.value("box", "");
    if (in.contains("port")) event.port = fitting_integer<int>(in["port"]);
    if (in.contains("recording_path")) event.recording_path = in["recording_path"].get<std::string>();
    if (in.contains("recording_bytes")) event.recording_bytes = fitting_integer<std::uint64_t>(in["recording_bytes"]);
    event.replay = in.value("replay", false);
    return event;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string to_json(const Hello& hello) {
  auto lines = json::array();
  for (const auto& line : hello.lines) lines.push_back({{"name", line.name}, {"user", line.user}});
  json body{{"stream", hello.stream}, {"last_seq", hello.last_seq}, {"lines", std::move(lines)},
            {"may_listen", hello.may_listen}};
  if (!hello.desk.empty()) body["desk"] = hello.desk;
  return json{{"v", schema_version}, {"hello", std::move(body)}}.dump();
}

std::optional<Hello> hello_from_json(std::string_view text) {
  const auto in = json::parse(text, nullptr, false);
  if (!in.is_object() || in.value("v", json()) != schema_version) return std::nullopt;
  const auto found = in.find("hello");
  if (found == in.end() || !found->is_object()) return std::nullopt;
  const auto stream = found->find("stream");
  const auto last_seq = found->find("last_seq");
  if (stream == found->end() || !stream->is_string() || stream->get<std::string>().empty()) return std::nullopt;
  if (last_seq == found->end() || !last_seq->is_number_unsigned()) return std::nullopt;
  Hello hello;
  hello.stream = stream->get<std::string>();
  hello.last_seq = last_seq->get<std::uint64_t>();
  // What the connection sees came later: a hello without it is still one.
  if (const auto desk = found->find("desk"); desk != found->end()) {
    if (!desk->is_string()) return std::nullopt;
    hello.desk = desk->get<std::string>();
  }
  if (const auto may_listen = found->find("may_listen"); may_listen != found->end()) {
    if (!may_listen->is_boolean()) return std::nullopt;
    hello.may_listen = may_listen->get<bool>();
  }
  if (const auto lines = found->find("lines"); lines != found->end()) {
    if (!lines->is_array()) return std::nullopt;
    for (const auto& line : *lines) {
      if (!line.is_object() || !line.contains("name") || !line["name"].is_string() ||
          !line.value("user", json("")).is_string())
        return std::nullopt;
      hello.lines.push_back({line["name"].get<std::string>(), line.value("user", "")});
    }
  }
  return hello;
}

std::string to_json(const FilterAnswer& answer) {
  if (answer.lines) return json{{"v", schema_version}, {"lines", *answer.lines}}.dump();
  return json{{"v", schema_version}, {"error", answer.error}, {"refused", answer.refused}}.dump();
}

std::optional<FilterAnswer> filter_answer_from_json(std::string_view text) {
  const auto in = json::parse(text, nullptr, false);
  if (!in.is_object() || in.value("v", json()) != schema_version || in.contains("event") || in.contains("hello"))
    return std::nullopt;
  FilterAnswer answer;
  if (const auto lines = in.find("lines"); lines != in.end()) {
    if (!lines->is_array()) return std::nullopt;
    answer.lines.emplace();
    for (const auto& line : *lines) {
      if (!line.is_string()) return std::nullopt;
      answer.lines->push_back(line.get<std::string>());
    }
    return answer;
  }
  const auto refused = in.find("refused");
  const auto error = in.find("error");
  if (refused == in.end() || !refused->is_string() || error == in.end() || !error->is_string()) return std::nullopt;
  answer.refused = refused->get<std::string>();
  answer.error = error->get<std::string>();
  return answer;
}

ParsedRequest parse_client_request(std::string_view text) {
  if (text.size() > max_request_bytes) return {std::nullopt, "request longer than 4096 bytes"};
  const auto in = json::parse(text, nullptr, false);
  if (in.is_discarded()) return {std::nullopt, "request is not JSON"};
  if (!in.is_object()) return {std::nullopt, "request is not a JSON object"};
  ClientRequest request;
  for (const auto& [key, value] : in.items()) {
    if (key == "resume_from") {
      if (!value.is_number_unsigned()) return {std::nullopt, "resume_from must be a non-negative integer"};
      request.resume_from = value.get<std::uint64_t>();
    } else if (key == "stream") {
      if (!value.is_string() || value.get<std::string>().empty())
        return {std::nullopt, "stream must be the non-empty stream id of a hello"};
      request.stream = value.get<std::string>();
    } else if (key == "lines") {
      if (!value.is_array()) return {std::nullopt, "lines must be an array of line names"};
      if (value.size() > max_filter_lines) return {std::nullopt, "lines names more than 64 lines"};
      std::vector<std::string> lines;
      for (const auto& line : value) {
        if (!line.is_string() || line.get<std::string>().empty())
          return {std::nullopt, "lines must be an array of non-empty strings"};
        lines.push_back(line.get<std::string>());
      }
      request.lines = std::move(lines);
    } else if (key == "desk") {
      if (!value.is_string() || value.get<std::string>().empty())
        return {std::nullopt, "desk must be the non-empty name of a [[desk]]"};
      request.desk = value.get<std::string>();
    } else {
      return {std::nullopt,
              "unknown key '" + key + "'; a request has resume_from (with stream), and lines or desk"};
    }
  }
  if (request.stream && !request.resume_from) return {std::nullopt, "stream goes with resume_from"};
  if (request.lines && request.desk) return {std::nullopt, "lines and desk do not go together: send one"};
  if (!request.resume_from && !request.lines && !request.desk)
    return {std::nullopt, "empty request: send resume_from, lines or desk"};
  return {std::move(request), {}};
}

}  // namespace deskline::proto::pop
