#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace deskline::config {
namespace {

namespace fs = std::filesystem;

// An error in one key: it travels as an exception inside this file only, up
// to the read of that key (Loader::check), which records it and goes on.
struct Failure {
  ConfigError error;
};

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string join_key(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

std::string quoted_list(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

bool printable(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

class Loader {
 public:
  Loader(std::string file, fs::path base_dir) : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  // Every key is read, whatever failed before it: the errors come back
  // together, in the file's order (none: the config).
  std::variant<Config, std::vector<ConfigError>> load(const toml::table& root) {
    Config config;
    config.source = file_;
    require_known_keys(root, "", {"daemon", "usb", "calls", "recording", "callerid", "directory", "http", "crm", "line",
                                  "desk"});
    const auto section = [&](std::string_view name, void (Loader::*load_section)(const toml::table&, Config&)) {
      read(root, name,
           [&](const toml::node& node) { (this->*load_section)(table_of(node, std::string(name)), config); });
    };
    section("daemon", &Loader::load_daemon);
    section("usb", &Loader::load_usb);
    section("calls", &Loader::load_calls);
    section("recording", &Loader::load_recording);
    section("callerid", &Loader::load_caller_id);
    section("directory", &Loader::load_directory);
    section("http", &Loader::load_http);
    section("crm", &Loader::load_crm);
    read(root, "line", [&](const toml::node& node) { load_lines(node, config); });
    read(root, "desk", [&](const toml::node& node) { load_desks(node, config); });
    if (errors_.empty()) return config;
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(errors_);
  }

  [[noreturn]] void fail(const toml::source_region& where, std::string key, std::string message) const {
    throw Failure{error_at(where, std::move(key), std::move(message))};
  }

 private:
  ConfigError error_at(const toml::source_region& where, std::string key, std::string message) const {
    return ConfigError{file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), std::move(key),
                       std::move(message)};
  }

  // Records an error and goes on (fail() stops the read it is in).
  void report(const toml::source_region& where, std::string key, std::string message) {
    errors_.push_back(error_at(where, std::move(key), std::move(message)));
  }

  // Runs one read; its error is recorded, and the loader goes on.
  template <typename Read>
  void check(Read&& read_something) {
    try {
      read_something();
    } catch (const Failure& failure) {
      errors_.push_back(failure.error);
    }
  }

  // Reads table's key name, if there, with read_node(node) under check.
  template <typename Read>
  void read(const toml::table& table, std::string_view name, Read&& read_node) {
    if (const auto* node = table.get(name)) check([&] { read_node(*node); });
  }

  // A check across keys is only worth making when each of them was read.
  bool failed(std::string_view key) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& error) { return error.key == key; });
  }

  void load_daemon(const toml::table& table, Config& config) {
    require_known_keys(table, "daemon", {"data_dir", "run_dir", "log_level", "desk_group", "socket_group"});
    read(table, "data_dir", [&](const toml::node& node) { config.data_dir = directory_of(node, "daemon.data_dir"); });
    read(table, "run_dir", [&](const toml::node& node) { config.run_dir = directory_of(node, "daemon.run_dir"); });
    read(table, "log_level", [&](const toml::node& node) {
      config.log_level = string_of(node, "daemon.log_level");
      if (config.log_level != "debug" && config.log_level != "info" && config.log_level != "warning" &&
          config.log_level != "error")
        fail(node.source(), "daemon.log_level",
             fmt::format("\"{}\" is not a log level; use debug, info, warning or error", config.log_level));
    });
    read(table, "socket_group", [&](const toml::node& node) {
      fail(node.source(), "daemon.socket_group",
           "renamed: desk_group names the group of events.sock (pops only); control.sock is for the daemon's "
           "own group");
    });
    read(table, "desk_group", [&](const toml::node& node) {
      config.desk_group = string_of(node, "daemon.desk_group");
      // POSIX portable user/group names: what useradd/groupadd accept.
      const bool portable = std::all_of(config.desk_group.begin(), config.desk_group.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
      if (!portable || config.desk_group.size() > 32 || config.desk_group.starts_with('-'))
        fail(node.source(), "daemon.desk_group",
             fmt::format("\"{}\" is not a group name (letters, digits, '_', '-', '.'; at most 32)", config.desk_group));
    });
  }

  void load_usb(const toml::table& table, Config& config) {
    require_known_keys(table, "usb", {"match"});
    const auto* node = table.get("match");
    if (!node) return;
    const auto& entries = array_of(*node, "usb.match");
    if (entries.empty())
      fail(node->source(), "usb.match", "needs at least one { vendor_id, product_id } entry, or leave it out");
    config.usb_match.clear();
    std::map<std::pair<std::uint16_t, std::uint16_t>, std::size_t> seen;
    for (std::size_t index = 0; index < entries.size(); ++index)
      check([&] {
        const std::string key = fmt::format("usb.match[{}]", index);
        const auto& entry = table_of(*entries.get(index), key);
        require_known_keys(entry, key, {"vendor_id", "product_id", "name"});
        UsbMatch match;
        match.vendor_id = usb_id_of(entry, key, "vendor_id");
        match.product_id = usb_id_of(entry, key, "product_id");
        match.name = fmt::format("{:04x}:{:04x}", match.vendor_id, match.product_id);
        if (const auto* name = entry.get("name")) {
          match.name = string_of(*name, key + ".name");
          if (match.name.empty() || !printable(match.name))
            fail(name->source(), key + ".name", "must be a non-empty name without control characters");
        }
        const auto [previous, inserted] = seen.emplace(std::pair{match.vendor_id, match.product_id}, index);
        if (!inserted)
          fail(entry.source(), key,
               fmt::format("{:04x}:{:04x} is already listed as usb.match[{}]", match.vendor_id, match.product_id,
                           previous->second));
        config.usb_match.push_back(std::move(match));
      });
  }

  void load_calls(const toml::table& table, Config& config) {
    require_known_keys(table, "calls", {"ring_timeout_s", "inter_digit_timeout_s", "remote_hangup_after_s", "flash_max_ms"});
    read(table, "ring_timeout_s",
         [&](const toml::node& node) { config.ring_timeout_s = seconds_of(node, "calls.ring_timeout_s"); });
    read(table, "inter_digit_timeout_s", [&](const toml::node& node) {
      config.inter_digit_timeout_s = seconds_of(node, "calls.inter_digit_timeout_s");
    });
    read(table, "remote_hangup_after_s", [&](const toml::node& node) {
      config.remote_hangup_after_s = seconds_of(node, "calls.remote_hangup_after_s");
    });
    read(table, "flash_max_ms", [&](const toml::node& node) {
      const auto value = integer_of(node, "calls.flash_max_ms");
      if (value < 0 || value > max_flash_ms)
        fail(node.source(), "calls.flash_max_ms",
             fmt::format("{} is out of range: must be 0 (no flash detection) to {} milliseconds", value, max_flash_ms));
      config.flash_max_ms = static_cast<int>(value);
    });
  }

  void load_recording(const toml::table& table, Config& config) {
    require_known_keys(table, "recording",
                       {"policy", "bitrate_bps", "complexity", "retention_days", "min_free_mb", "audio_device"});
    auto& recording = config.recording;
    read(table, "policy",
         [&](const toml::node& node) { recording.policy = record_policy_of(node, "recording.policy"); });
    read(table, "bitrate_bps", [&](const toml::node& node) {
      recording.bitrate_bps = static_cast<int>(integer_in(node, "recording.bitrate_bps", 6000, 64000));
    });
    read(table, "complexity", [&](const toml::node& node) {
      recording.complexity = static_cast<int>(integer_in(node, "recording.complexity", 0, 10));
    });
    read(table, "retention_days", [&](const toml::node& node) {
      recording.retention_days = static_cast<int>(integer_in(node, "recording.retention_days", 0, 36500));
    });
    read(table, "min_free_mb", [&](const toml::node& node) {
      recording.min_free_mb = static_cast<std::uint64_t>(integer_in(node, "recording.min_free_mb", 0, 1 << 30));
    });
    read(table, "audio_device", [&](const toml::node& node) {
      const auto& patterns = array_of(node, "recording.audio_device");
      recording.audio_device.clear();
      for (std::size_t index = 0; index < patterns.size(); ++index) {
        const std::string key = fmt::format("recording.audio_device[{}]", index);
        auto pattern = string_of(*patterns.get(index), key);
        if (pattern.empty()) fail(patterns.get(index)->source(), key, "must not be empty");
        recording.audio_device.push_back(std::move(pattern));
      }
    });
  }

  void load_caller_id(const toml::table& table, Config& config) {
    require_known_keys(table, "callerid", {"mode"});
    read(table, "mode",
         [&](const toml::node& node) { config.caller_id_mode = caller_id_mode_of(node, "callerid.mode"); });
  }

  void load_directory(const toml::table& table, Config& config) {
    require_known_keys(table, "directory", {"region", "area_code"});
    read(table, "region", [&](const toml::node& node) {
      auto region = string_of(node, "directory.region");
      if (region.size() != 2 || !std::isupper(static_cast<unsigned char>(region[0])) ||
          !std::isupper(static_cast<unsigned char>(region[1])))
        fail(node.source(), "directory.region",
             fmt::format("\"{}\" is not a two-letter ISO 3166 region code such as \"CN\"", region));
      config.directory.region = std::move(region);
    });
    read(table, "area_code", [&](const toml::node& node) {
      auto area_code = string_of(node, "directory.area_code");
      if (!area_code.empty() && area_code.front() == '0') area_code.erase(0, 1);  // trunk prefix
      if (area_code.size() > 5 || !std::all_of(area_code.begin(), area_code.end(), [](char c) {
            return c >= '0' && c <= '9';
          }))
        fail(node.source(), "directory.area_code", "must be up to 5 digits, e.g. \"10\" or \"010\" for Beijing");
      config.directory.area_code = std::move(area_code);
    });
  }

  void load_http(const toml::table& table, Config& config) {
    require_known_keys(table, "http",
                       {"address", "port", "token", "api_tokens_file", "allowed_origins", "max_connections",
                        "max_connections_per_address", "tls_certificate", "tls_key", "allow_plain_http_on_network",
                        "requests_per_s", "request_burst", "downloads_per_token"});
    auto& http = config.http;
    read(table, "address", [&](const toml::node& node) {
      http.address = string_of(node, "http.address");
      check_ip_literal(node, http.address);
    });
    read(table, "port",
         [&](const toml::node& node) { http.port = static_cast<int>(integer_in(node, "http.port", 0, 65535)); });
    read(table, "max_connections", [&](const toml::node& node) {
      http.max_connections = static_cast<int>(integer_in(node, "http.max_connections", 1, max_http_connections));
    });
    read(table, "max_connections_per_address", [&](const toml::node& node) {
      http.max_connections_per_address =
          static_cast<int>(integer_in(node, "http.max_connections_per_address", 1, max_http_connections));
    });
    read(table, "token", [&](const toml::node& node) {
      http.token = string_of(node, "http.token");
      if (!http.token.empty() && (http.token.size() < 16 || !printable(http.token) ||
                                  http.token.find(' ') != std::string::npos))
        fail(node.source(), "http.token", "must be at least 16 printable characters without spaces, or empty");
    });
    read(table, "api_tokens_file",
         [&](const toml::node& node) { http.api_tokens_file = optional_file_of(node, "http.api_tokens_file"); });
    read(table, "allowed_origins", [&](const toml::node& node) {
      const auto& origins = array_of(node, "http.allowed_origins");
      for (std::size_t index = 0; index < origins.size(); ++index) {
        const std::string key = fmt::format("http.allowed_origins[{}]", index);
        auto origin = string_of(*origins.get(index), key);
        if (!(origin.starts_with("http://") || origin.starts_with("https://")) || origin.ends_with("/"))
          fail(origins.get(index)->source(), key,
               fmt::format("\"{}\" is not an origin such as \"https://crm.example.com\"", origin));
        http.allowed_origins.push_back(std::move(origin));
      }
    });
    read(table, "tls_certificate",
         [&](const toml::node& node) { http.tls_certificate = optional_file_of(node, "http.tls_certificate"); });
    read(table, "tls_key", [&](const toml::node& node) { http.tls_key = optional_file_of(node, "http.tls_key"); });
    const bool tls_read = !failed("http.tls_certificate") && !failed("http.tls_key");
    if (tls_read && http.tls_certificate.empty() != http.tls_key.empty())
      report(table.source(), http.tls_key.empty() ? "http.tls_key" : "http.tls_certificate",
             "http.tls_certificate and http.tls_key go together: set both or neither");
    read(table, "allow_plain_http_on_network", [&](const toml::node& node) {
      http.allow_plain_http_on_network = boolean_of(node, "http.allow_plain_http_on_network");
    });
    if (tls_read && !failed("http.address") && !failed("http.allow_plain_http_on_network") && !http.tls() &&
        !http.allow_plain_http_on_network && !is_loopback(http.address))
      report(table.get("address") ? table.get("address")->source() : table.source(), "http.address",
             fmt::format("\"{}\" is not a loopback address, and plain HTTP would carry the tokens and recordings "
                         "across the network: set http.tls_certificate and http.tls_key, or "
                         "http.allow_plain_http_on_network = true (a TLS proxy in front)",
                         http.address));
    read(table, "requests_per_s", [&](const toml::node& node) {
      http.requests_per_s = static_cast<int>(integer_in(node, "http.requests_per_s", 1, 10000));
    });
    read(table, "request_burst", [&](const toml::node& node) {
      http.request_burst = static_cast<int>(integer_in(node, "http.request_burst", 1, 100000));
    });
    read(table, "downloads_per_token", [&](const toml::node& node) {
      http.downloads_per_token =
          static_cast<int>(integer_in(node, "http.downloads_per_token", 1, max_http_connections));
    });
  }

  // 127.0.0.0/8 and ::1; any other address reaches the network.
  static bool is_loopback(const std::string& address) { return address.starts_with("127.") || address == "::1"; }

  void load_crm(const toml::table& table, Config& config) {
    require_known_keys(table, "crm", {"url", "token_file", "signing_secret_file", "ca_file", "max_in_flight",
                                      "timeout_s", "customers_poll_s"});
    auto& crm = config.crm;
    read(table, "url", [&](const toml::node& node) {
      crm.url = string_of(node, "crm.url");
      // The full parse (host, port) is the sync's, at start; here the shape.
      const auto scheme_end = crm.url.find("://");
      const bool scheme = crm.url.starts_with("http://") || crm.url.starts_with("https://");
      const bool host = scheme_end != std::string::npos && crm.url.size() > scheme_end + 3 &&
                        crm.url[scheme_end + 3] != '/' && crm.url[scheme_end + 3] != ':';
      if (!crm.url.empty() && (!scheme || !host || crm.url.find_first_of(" \t?#@") != std::string::npos))
        fail(node.source(), "crm.url",
             fmt::format("\"{}\" is not a CRM base URL such as \"https://crm.example.com/deskline\" (http or https, "
                         "no query, fragment or user)",
                         crm.url));
    });
    read(table, "token_file",
         [&](const toml::node& node) { crm.token_file = optional_file_of(node, "crm.token_file"); });
    read(table, "signing_secret_file",
         [&](const toml::node& node) { crm.signing_secret_file = optional_file_of(node, "crm.signing_secret_file"); });
    read(table, "ca_file", [&](const toml::node& node) { crm.ca_file = optional_file_of(node, "crm.ca_file"); });
    read(table, "max_in_flight", [&](const toml::node& node) {
      crm.max_in_flight = static_cast<int>(integer_in(node, "crm.max_in_flight", 1, 32));
    });
    read(table, "timeout_s",
         [&](const toml::node& node) { crm.timeout_s = static_cast<int>(integer_in(node, "crm.timeout_s", 1, 600)); });
    read(table, "customers_poll_s", [&](const toml::node& node) {
      crm.customers_poll_s = static_cast<int>(integer_in(node, "crm.customers_poll_s", 0, 86400));
      if (crm.customers_poll_s > 0 && crm.customers_poll_s < 10)
        fail(node.source(), "crm.customers_poll_s", "must be 0 (no automatic pull) or at least 10 seconds");
    });
    if (!crm.url.empty() && !failed("crm.url"))
      for (const auto& [key, path] :
           {std::pair{"crm.token_file", crm.token_file}, std::pair{"crm.signing_secret_file", crm.signing_secret_file}})
        if (path.empty() && !failed(key)) report(table.source(), key, "is required when crm.url is set");
  }

  // An IPv4 or IPv6 literal; host names are not resolved at start-up.
  void check_ip_literal(const toml::node& node, const std::string& address) const {
    const bool ipv4 = !address.empty() && address.find_first_not_of("0123456789.") == std::string::npos &&
                      std::count(address.begin(), address.end(), '.') == 3;
    const bool ipv6 = address.find(':') != std::string::npos &&
                      address.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
    if (!ipv4 && !ipv6)
      fail(node.source(), "http.address", fmt::format("\"{}\" is not an IP address such as \"127.0.0.1\"", address));
  }

  RecordPolicy record_policy_of(const toml::node& node, const std::string& key) const {
    const auto text = string_of(node, key);
    for (auto policy : {RecordPolicy::always, RecordPolicy::never, RecordPolicy::inbound, RecordPolicy::outbound})
      if (text == to_string(policy)) return policy;
    fail(node.source(), key, fmt::format("\"{}\" is not a policy; use always, never, inbound or outbound", text));
  }

  CallerIdMode caller_id_mode_of(const toml::node& node, const std::string& key) const {
    const auto text = string_of(node, key);
    for (auto mode : {CallerIdMode::auto_detect, CallerIdMode::bell202, CallerIdMode::v23, CallerIdMode::dtmf,
                      CallerIdMode::box})
      if (text == to_string(mode)) return mode;
    fail(node.source(), key, fmt::format("\"{}\" is not a mode; use auto, bell202, v23, dtmf or box", text));
  }

  std::int64_t integer_in(const toml::node& node, const std::string& key, std::int64_t low, std::int64_t high) const {
    const auto value = integer_of(node, key);
    if (value < low || value > high)
      fail(node.source(), key, fmt::format("{} is out of range: must be {} to {}", value, low, high));
    return value;
  }

  void load_lines(const toml::node& node, Config& config) {
    const auto* lines = node.as_array();
    if (!lines || !(lines->empty() || lines->is_array_of_tables()))
      fail(node.source(), "line", fmt::format("must be an array of tables ([[line]] sections), not {}",
                                              type_name(node.type())));
    std::map<std::string, std::size_t, std::less<>> names;
    std::map<std::pair<std::string, int>, std::size_t> ports;
    for (std::size_t index = 0; index < lines->size(); ++index) {
      const std::string key = fmt::format("line[{}]", index);
      const auto& table = *lines->get(index)->as_table();
      require_known_keys(table, key, {"box", "port", "name", "user", "record", "callerid"});
      LineConfig line;
      const auto errors_before = errors_.size();
      check([&] { line.box = required_text(table, key, "box"); });
      check([&] {
        const auto& port_node = required(table, key, "port");
        const auto port = integer_of(port_node, key + ".port");
        if (port < 1 || port > 16)
          fail(port_node.source(), key + ".port",
               fmt::format("{} is out of range: ports are numbered 1 to 16 as printed on the box", port));
        line.port = static_cast<int>(port);
      });
      check([&] { line.name = required_text(table, key, "name"); });
      read(table, "user", [&](const toml::node& user) {
        line.user = string_of(user, key + ".user");
        if (!printable(line.user)) fail(user.source(), key + ".user", "must not contain control characters");
      });
      read(table, "record", [&](const toml::node& record) { line.record = record_policy_of(record, key + ".record"); });
      read(table, "callerid",
           [&](const toml::node& mode) { line.caller_id = caller_id_mode_of(mode, key + ".callerid"); });
      if (errors_.size() > errors_before) continue;  // not comparable with the others
      if (const auto [previous, inserted] = names.emplace(line.name, index); !inserted)
        report(table.get("name")->source(), key + ".name",
               fmt::format("line name \"{}\" is already used by line[{}] (line {})", line.name, previous->second,
                           lines->get(previous->second)->source().begin.line));
      if (const auto [previous, inserted] = ports.emplace(std::pair{line.box, line.port}, index); !inserted)
        report(table.get("port")->source(), key + ".port",
               fmt::format("box \"{}\" port {} is already configured as line[{}] (line {})", line.box, line.port,
                           previous->second, lines->get(previous->second)->source().begin.line));
      config.lines.push_back(std::move(line));
    }
  }

  // After load_lines: a desk names configured lines.
  void load_desks(const toml::node& node, Config& config) {
    const auto* desks = node.as_array();
    if (!desks || !(desks->empty() || desks->is_array_of_tables()))
      fail(node.source(), "desk", fmt::format("must be an array of tables ([[desk]] sections), not {}",
                                              type_name(node.type())));
    std::map<std::string, std::size_t, std::less<>> names;
    std::map<std::string, std::size_t, std::less<>> tokens;
    // A line with an error is not in config.lines: names are checked only
    // against a [[line]] list read whole.
    const bool lines_read = std::none_of(errors_.begin(), errors_.end(), [](const ConfigError& error) {
      return error.key == "line" || error.key.starts_with("line[");
    });
    for (std::size_t index = 0; index < desks->size(); ++index) {
      const std::string key = fmt::format("desk[{}]", index);
      const auto& table = *desks->get(index)->as_table();
      require_known_keys(table, key, {"name", "token", "lines", "may_listen"});
      DeskConfig desk;
      const auto errors_before = errors_.size();
      check([&] {
        desk.name = required_text(table, key, "name");  // non-empty and printable
        if (desk.name.size() > 64)
          fail(table.get("name")->source(), key + ".name", "must be 1 to 64 printable characters");
      });
      check([&] {
        desk.token = required_text(table, key, "token");
        // It goes in the page's address (?token=) as it is.
        const bool url_safe = desk.token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                           "0123456789-._~") == std::string::npos;
        if (desk.token.size() < 16 || !url_safe)
          fail(table.get("token")->source(), key + ".token",
               "must be at least 16 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (it goes in the page's "
               "address); `openssl rand -hex 16` makes one");
        if (desk.token == config.http.token)
          fail(table.get("token")->source(), key + ".token", "is http.token, the admin's: give the desk its own");
      });
      check([&] {
        const auto& lines_node = required(table, key, "lines");
        const auto& lines = array_of(lines_node, key + ".lines");
        if (lines.empty()) fail(lines_node.source(), key + ".lines", "must name at least one [[line]]");
        for (std::size_t line = 0; line < lines.size(); ++line) {
          const std::string line_key = fmt::format("{}.lines[{}]", key, line);
          auto name = string_of(*lines.get(line), line_key);
          if (lines_read && !config.find_line(name))
            fail(lines.get(line)->source(), line_key,
                 fmt::format("\"{}\" is not the name of a [[line]]{}", name,
                             offered_names("line", config.lines, [](const LineConfig& known) { return known.name; })));
          if (std::find(desk.lines.begin(), desk.lines.end(), name) != desk.lines.end())
            fail(lines.get(line)->source(), line_key, fmt::format("\"{}\" is named twice", name));
          desk.lines.push_back(std::move(name));
        }
      });
      read(table, "may_listen", [&](const toml::node& value) { desk.may_listen = boolean_of(value, key + ".may_listen"); });
      if (errors_.size() > errors_before) continue;
      if (const auto [previous, inserted] = names.emplace(desk.name, index); !inserted)
        report(table.get("name")->source(), key + ".name",
               fmt::format("desk name \"{}\" is already used by desk[{}]", desk.name, previous->second));
      if (const auto [previous, inserted] = tokens.emplace(desk.token, index); !inserted)
        report(table.get("token")->source(), key + ".token",
               fmt::format("is desk[{}]'s token too: each desk needs its own", previous->second));
      config.desks.push_back(std::move(desk));
    }
  }

  // ---- typed access ----------------------------------------------------------

  void require_known_keys(const toml::table& table, std::string_view prefix,
                          std::initializer_list<std::string_view> known) {
    for (auto&& [key, value] : table) {
      bool found = false;
      for (auto name : known) found = found || key.str() == name;
      if (!found)
        report(
            key.source(), join_key(prefix, key.str()),
            fmt::format("unknown key; {} accepts: {}", prefix.empty() ? "the top level" : prefix, quoted_list(known)));
    }
  }

  const toml::table& table_of(const toml::node& node, const std::string& key) const {
    if (const auto* table = node.as_table()) return *table;
    fail(node.source(), key, fmt::format("must be a table, not {}", type_name(node.type())));
  }

  const toml::array& array_of(const toml::node& node, const std::string& key) const {
    if (const auto* array = node.as_array()) return *array;
    fail(node.source(), key, fmt::format("must be an array, not {}", type_name(node.type())));
  }

  std::string string_of(const toml::node& node, const std::string& key) const {
    if (const auto* text = node.as_string()) return text->get();
    fail(node.source(), key, fmt::format("must be a string, not {}", type_name(node.type())));
  }

  bool boolean_of(const toml::node& node, const std::string& key) const {
    if (const auto* value = node.as_boolean()) return value->get();
    fail(node.source(), key, fmt::format("must be true or false, not {}", type_name(node.type())));
  }

  std::int64_t integer_of(const toml::node& node, const std::string& key) const {
    if (const auto* integer = node.as_integer()) return integer->get();
    fail(node.source(), key, fmt::format("must be an integer, not {}", type_name(node.type())));
  }

  const toml::node& required(const toml::table& table, const std::string& prefix, std::string_view name) const {
    if (const auto* node = table.get(name)) return *node;
    fail(table.source(), join_key(prefix, name), "is required");
  }

  std::string required_text(const toml::table& table, const std::string& prefix, std::string_view name) const {
    const auto& node = required(table, prefix, name);
    const std::string key = join_key(prefix, name);
    auto text = string_of(node, key);
    if (text.empty() || !printable(text))
      fail(node.source(), key, "must be a non-empty string without control characters");
    return text;
  }

  std::uint16_t usb_id_of(const toml::table& table, const std::string& prefix, std::string_view name) const {
    const auto& node = required(table, prefix, name);
    const std::string key = join_key(prefix, name);
    const auto value = integer_of(node, key);
    if (value < 0 || value > 0xFFFF)
      fail(node.source(), key, fmt::format("{} (0x{:X}) is out of range: USB ids are 0x0000 to 0xFFFF", value, value));
    return static_cast<std::uint16_t>(value);
  }

  // Timeouts accept integers and floats; the bound catches milliseconds
  // written where seconds were meant.
  double seconds_of(const toml::node& node, const std::string& key) const {
    double value = 0;
    if (const auto* integer = node.as_integer())
      value = static_cast<double>(integer->get());
    else if (const auto* floating = node.as_floating_point())
      value = floating->get();
    else
      fail(node.source(), key, fmt::format("must be a number of seconds, not {}", type_name(node.type())));
    if (!std::isfinite(value) || value <= 0 || value > max_timeout_s)
      fail(node.source(), key,
           fmt::format("{} is out of range: must be more than 0 and at most {} seconds", value, max_timeout_s));
    return value;
  }

  // A relative path (directory or file) is taken from the config file's
  // folder, so the file means the same thing whatever the daemon's working
  // directory is.
  fs::path directory_of(const toml::node& node, const std::string& key) const {
    const fs::path path = string_of(node, key);
    if (path.empty()) fail(node.source(), key, "must not be empty");
    if (path.is_absolute()) return path.lexically_normal();
    return (base_dir_ / path).lexically_normal();
  }

  // A file as directory_of takes a folder; "" stays empty (none).
  fs::path optional_file_of(const toml::node& node, const std::string& key) const {
    return string_of(node, key).empty() ? fs::path() : directory_of(node, key);
  }

  static constexpr double max_timeout_s = 60.0;
  // Flashes are 80 to 800 ms depending on the exchange; longer is a hang-up.
  static constexpr int max_flash_ms = 2000;

  std::string file_;
  fs::path base_dir_;
  std::vector<ConfigError> errors_;
};

fs::path folder_of(std::string_view source_name) {
  std::error_code error;
  auto folder = fs::absolute(fs::path(source_name), error).parent_path();
  if (error) folder = fs::path(source_name).parent_path();
  return folder;
}

LoadResult parse_in(std::string_view text, std::string_view source_name, const fs::path& base_dir) {
  const std::string file(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    const ConfigError syntax{file, static_cast<int>(where.line), static_cast<int>(where.column), "",
                             std::string(error.description())};
    return {std::nullopt, syntax, {syntax}};
  }
  auto loaded = Loader(file, base_dir).load(root);
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) return {std::nullopt, errors->front(), *errors};
  return {std::move(std::get<Config>(loaded)), {}, {}};
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file.empty() ? "<config>" : file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

const LineConfig* Config::find_line(std::string_view name) const {
  for (const auto& line : lines)
    if (line.name == name) return &line;
  return nullptr;
}

const DeskConfig* Config::find_desk(std::string_view name) const {
  for (const auto& desk : desks)
    if (desk.name == name) return &desk;
  return nullptr;
}

const LineConfig* Config::find_line(std::string_view box_serial, int port) const {
  for (const auto& line : lines)
    if (line.box == box_serial && line.port == port) return &line;
  return nullptr;
}

RecordPolicy Config::record_policy(std::string_view box_serial, int port) const {
  const auto* line = find_line(box_serial, port);
  return line && line->record ? *line->record : recording.policy;
}

CallerIdMode Config::caller_id_mode_for(std::string_view box_serial, int port) const {
  const auto* line = find_line(box_serial, port);
  return line && line->caller_id ? *line->caller_id : caller_id_mode;
}

std::string_view to_string(RecordPolicy policy) {
  switch (policy) {
    case RecordPolicy::always: return "always";
    case RecordPolicy::never: return "never";
    case RecordPolicy::inbound: return "inbound";
    case RecordPolicy::outbound: return "outbound";
  }
  return "always";
}

std::string_view to_string(CallerIdMode mode) {
  switch (mode) {
    case CallerIdMode::auto_detect: return "auto";
    case CallerIdMode::bell202: return "bell202";
    case CallerIdMode::v23: return "v23";
    case CallerIdMode::dtmf: return "dtmf";
    case CallerIdMode::box: return "box";
  }
  return "auto";
}

std::string Config::line_name(std::string_view box_serial, int port) const {
  if (const auto* line = find_line(box_serial, port)) return line->name;
  return fmt::format("{}:{}", box_serial, port);
}

LoadResult parse(std::string_view text, std::string_view source_name) {
  return parse_in(text, source_name, folder_of(source_name));
}

LoadResult load_file(const std::filesystem::path& path) {
  const auto refuse = [&](std::string message) {
    ConfigError error{path.string(), 0, 0, "", std::move(message)};
    return LoadResult{std::nullopt, error, {error}};
  };
  // Checked before reading: a directory reads as an empty file (all
  // defaults), and a device like /dev/zero never ends.
  std::error_code status_error;
  const auto status = fs::status(path, status_error);
  if (fs::is_directory(status)) return refuse("cannot read: is a directory");
  if (fs::exists(status) && !fs::is_regular_file(status)) return refuse("cannot read: is not a regular file");
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int reason = errno;
    return refuse(fmt::format("cannot read: {}", std::strerror(reason)));
  }
  // One byte more than allowed tells a file at the limit from a larger one.
  std::string text(max_file_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) return refuse("cannot read: I/O error");
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > max_file_bytes)
    return refuse(fmt::format("larger than {} MiB: not a configuration file", max_file_bytes >> 20));
  return parse_in(text, path.string(), folder_of(path.string()));
}

}  // namespace deskline::config
