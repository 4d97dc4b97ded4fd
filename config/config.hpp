// Daemon configuration: one TOML file, one loader, shared by desklined and the
// deskline CLI. Errors carry file:line and the key; unknown keys are errors
// (a typo must not silently fall back to a default).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::config {

inline constexpr std::string_view default_path = "/etc/deskline/deskline.toml";

struct UsbMatch {
  std::uint16_t vendor_id = 0;
  std::uint16_t product_id = 0;
  std::string name;  // profile name shown in logs
  friend bool operator==(const UsbMatch&, const UsbMatch&) = default;
};

enum class RecordPolicy { always, never, inbound, outbound };
enum class CallerIdMode { auto_detect, bell202, v23, dtmf, box };

struct LineConfig {
  std::string box;  // box serial
  int port = 1;     // 1-based
  std::string name;  // unique line name
  std::string user;  // person at this desk (optional)
  std::optional<RecordPolicy> record;    // overrides [recording] policy
  std::optional<CallerIdMode> caller_id;  // overrides [callerid] mode
  friend bool operator==(const LineConfig&, const LineConfig&) = default;
};

// A desk ([[desk]]): the people at some lines, and what their page's token
// opens: the pop events and calls of those lines, and their recordings when
// may_listen. The [http] token is the admin's: every line, no recordings.
struct DeskConfig {
  std::string name;                // unique desk name
  std::string token;               // its page's token: 16+ URL-safe characters
  std::vector<std::string> lines;  // configured line names, at least one
  bool may_listen = false;         // may play its lines' recordings
  friend bool operator==(const DeskConfig&, const DeskConfig&) = default;
};

struct RecordingConfig {
  RecordPolicy policy = RecordPolicy::always;
  int bitrate_bps = 16000;  // 6000..64000
  int complexity = 5;       // 0..10
  int retention_days = 0;   // 0: keep forever
  std::uint64_t min_free_mb = 200;  // below this free space new recordings are refused
  // PortAudio input device names are matched (case-insensitive substring)
  // against these, with {serial} and {serial_alnum} (non-alphanumerics as _) replaced.
  std::vector<std::string> audio_device{"{serial}", "{serial_alnum}"};
  friend bool operator==(const RecordingConfig&, const RecordingConfig&) = default;
};

inline constexpr int max_http_connections = 256;

struct HttpConfig {
  std::string address = "127.0.0.1";  // listen address: keep it local unless a proxy fronts it
  int port = 8480;                     // 0: any free port (shown by `deskline status`)
  // Bearer token for /v1/* and the WebSocket. Empty: a random token is made
  // at first start and kept in <data_dir>/http-token.
  std::string token;
  // The API tokens (proto/api_tokens.hpp: names and SHA-256 hashes), managed
  // with `deskline tokens`. Empty: <data_dir>/api-tokens.
  std::filesystem::path api_tokens_file;
  // Browser origins allowed to open the WebSocket besides the daemon's own page.
  std::vector<std::string> allowed_origins;
  // One budget for HTTP connections and WebSockets together, and the share of
  // it one source address may hold (systemd/desklined.service sizes
  // LimitNOFILE for the largest budget).
  int max_connections = 64;              // 1..max_http_connections
  int max_connections_per_address = 32;  // 1..max_http_connections
  // TLS (both or neither): PEM certificate chain and private key, read at
  // start. Without them the listener must be on a loopback address unless
  // allow_plain_http_on_network says otherwise.
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_key;
  bool allow_plain_http_on_network = false;
  // Per token: requests per second with a burst allowance (a token bucket),
  // and recording downloads at once. Beyond them: 429 with Retry-After.
  int requests_per_s = 20;          // 1..10000
  int request_burst = 100;          // 1..100000
  int downloads_per_token = 4;      // 1..max_http_connections
  bool tls() const { return !tls_certificate.empty(); }
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

struct DirectoryConfig {
  std::string region = "CN";  // ISO 3166 region for numbers without a country code
  std::string area_code;      // prepended to bare local numbers, e.g. "10" for Beijing
  friend bool operator==(const DirectoryConfig&, const DirectoryConfig&) = default;
};

// [crm]: the CRM sync (proto/crm.md). Off while url is empty.
struct CrmConfig {
  std::string url;  // {base}: http:// or https://, no query or fragment
  std::filesystem::path token_file;           // bearer token (required with url)
  std::filesystem::path signing_secret_file;  // Standard Webhooks secret, whsec_... (required with url)
  std::filesystem::path ca_file;              // PEM CAs for https; empty: the system's
  int max_in_flight = 4;                      // requests at once, 1..32
  int timeout_s = 30;                         // a request with no progress for this long fails, 1..600
  int customers_poll_s = 300;                 // directory pull interval, 0 (never by itself) or 10..86400
  friend bool operator==(const CrmConfig&, const CrmConfig&) = default;
};

struct Config {
  std::filesystem::path source;  // file it was read from ("" for defaults)

  // [daemon]
  std::filesystem::path data_dir = "/var/lib/deskline";
  std::filesystem::path run_dir = "/run/deskline";
  std::string log_level = "info";  // debug, info, warning, error
  // Group given to events.sock (mode 0660): desk users in it read pops and
  // nothing else. Empty: the daemon's own group. control.sock always has the
  // daemon's own group: its members are the admins.
  std::string desk_group;

  // [usb]
  std::vector<UsbMatch> usb_match{{0x1209, 0x8800, "x800"}};

  // [calls]
  double ring_timeout_s = 6.0;         // no ring for this long after the last burst: missed
  double inter_digit_timeout_s = 4.0;  // no digit for this long: dialling is over
  double remote_hangup_after_s = 2.0;  // busy/congestion tone this long on a connected call: far end hung up
  int flash_max_ms = 800;  // an on-hook this short during a call is a hook flash; 0: no flash detection

  // [recording]
  RecordingConfig recording;

  // [callerid]
  CallerIdMode caller_id_mode = CallerIdMode::auto_detect;

  // [directory]
  DirectoryConfig directory;

  // [http]
  HttpConfig http;
  CrmConfig crm;

  // [[line]]
  std::vector<LineConfig> lines;

  // [[desk]]
  std::vector<DeskConfig> desks;

  std::filesystem::path recordings_dir() const { return data_dir / "recordings"; }
  RecordPolicy record_policy(std::string_view box_serial, int port) const;
  CallerIdMode caller_id_mode_for(std::string_view box_serial, int port) const;

  std::filesystem::path database_path() const { return data_dir / "deskline.db"; }
  std::filesystem::path control_socket_path() const { return run_dir / "control.sock"; }
  std::filesystem::path events_socket_path() const { return run_dir / "events.sock"; }
  std::filesystem::path api_tokens_path() const {
    return http.api_tokens_file.empty() ? data_dir / "api-tokens" : http.api_tokens_file;
  }

  // Configured name of a box port, or "SERIAL:PORT" when the port is not configured.
  std::string line_name(std::string_view box_serial, int port) const;
  const LineConfig* find_line(std::string_view box_serial, int port) const;
  const LineConfig* find_line(std::string_view name) const;
  const DeskConfig* find_desk(std::string_view name) const;
};

std::string_view to_string(RecordPolicy policy);
std::string_view to_string(CallerIdMode mode);

// ` (lines: "Sales 1", "Sales 2")`, or ` (no line is configured)`: the names a
// refusal of an unknown name offers instead; name(item) is an item's name.
template <typename Range, typename Name>
std::string offered_names(std::string_view what, const Range& range, Name name) {
  if (range.empty()) return " (no " + std::string(what) + " is configured)";
  std::string text = " (" + std::string(what) + "s: ";
  for (const auto& item : range) text += (&item == &range.front() ? "\"" : ", \"") + std::string(name(item)) + "\"";
  return text + ")";
}

struct ConfigError {
  std::string file;
  int line = 0;     // 1-based, 0 when unknown
  int column = 0;
  std::string key;  // dotted path, e.g. "line[2].port"
  std::string message;
  // "FILE:LINE:COLUMN: KEY: MESSAGE"
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;
  ConfigError error;                // the first of errors
  std::vector<ConfigError> errors;  // every error, in the file's order (a TOML syntax error: that one)
  explicit operator bool() const { return config.has_value(); }
};

// Parses TOML text; source_name is used in error messages and Config::source.
LoadResult parse(std::string_view text, std::string_view source_name);
// Far more than any real configuration (the annotated example is ~10 KiB).
inline constexpr std::size_t max_file_bytes = 1 << 20;
// Refuses a directory, a device or FIFO, and a file over max_file_bytes.
LoadResult load_file(const std::filesystem::path& path);

}  // namespace deskline::config
