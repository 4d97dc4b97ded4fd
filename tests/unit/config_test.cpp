#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <unistd.h>

namespace deskline::config {
namespace {

namespace fs = std::filesystem;

Config parse_ok(std::string_view text, std::string_view source = "/etc/deskline/deskline.toml") {
  auto result = parse(text, source);
  EXPECT_TRUE(result) << result.error.to_string();
  return result ? *result.config : Config{};
}

TEST(Config, EmptyFileGivesTheDefaults) {
  const Config config = parse_ok("", "/etc/deskline/deskline.toml");
  EXPECT_EQ(config.source, "/etc/deskline/deskline.toml");
  EXPECT_EQ(config.data_dir, "/var/lib/deskline");
  EXPECT_EQ(config.run_dir, "/run/deskline");
  EXPECT_EQ(config.log_level, "info");
  ASSERT_EQ(config.usb_match.size(), 1u);
  EXPECT_EQ(config.usb_match[0], (UsbMatch{0x1209, 0x8800, "x800"}));
  EXPECT_DOUBLE_EQ(config.ring_timeout_s, 6.0);
  EXPECT_DOUBLE_EQ(config.inter_digit_timeout_s, 4.0);
  EXPECT_DOUBLE_EQ(config.remote_hangup_after_s, 2.0);
  EXPECT_TRUE(config.lines.empty());
  EXPECT_EQ(config.database_path(), "/var/lib/deskline/deskline.db");
  EXPECT_EQ(config.control_socket_path(), "/run/deskline/control.sock");
}

TEST(Config, DefaultConstructedMatchesAnEmptyFile) {
  Config parsed = parse_ok("");
  parsed.source.clear();
  const Config built;
  EXPECT_EQ(parsed.data_dir, built.data_dir);
  EXPECT_EQ(parsed.usb_match, built.usb_match);
  EXPECT_EQ(parsed.ring_timeout_s, built.ring_timeout_s);
}

TEST(Config, ExampleFileParsesWithEveryKey) {
  const fs::path path = fs::path(DESKLINE_SOURCE_DIR) / "config" / "deskline.example.toml";
  const auto result = load_file(path);
  ASSERT_TRUE(result) << result.error.to_string();
  const Config& config = *result.config;
  EXPECT_EQ(config.source, path);
  EXPECT_EQ(config.data_dir, "/var/lib/deskline");
  EXPECT_EQ(config.run_dir, "/run/deskline");
  EXPECT_EQ(config.log_level, "info");
  ASSERT_EQ(config.usb_match.size(), 1u);
  EXPECT_EQ(config.usb_match[0], (UsbMatch{0x1209, 0x8800, "x800"}));
  EXPECT_DOUBLE_EQ(config.ring_timeout_s, 6.0);
  EXPECT_DOUBLE_EQ(config.inter_digit_timeout_s, 4.0);
  ASSERT_EQ(config.lines.size(), 3u);
  EXPECT_EQ(config.lines[0], (LineConfig{"X800-0001", 1, "Sales 1", "Li Na", {}, {}}));
  EXPECT_EQ(config.lines[1], (LineConfig{"X800-0001", 2, "Sales 2", "Wang Wei", {}, {}}));
  EXPECT_EQ(config.lines[2], (LineConfig{"X800-0001", 3, "Support", "", {}, {}}));
}

TEST(Config, ExampleFileDocumentsEveryDefault) {
  // The example is the admin's reference: its values must be the defaults.
  const auto result = load_file(fs::path(DESKLINE_SOURCE_DIR) / "config" / "deskline.example.toml");
  ASSERT_TRUE(result);
  const Config defaults;
  EXPECT_EQ(result.config->data_dir, defaults.data_dir);
  EXPECT_EQ(result.config->run_dir, defaults.run_dir);
  EXPECT_EQ(result.config->log_level, defaults.log_level);
  EXPECT_EQ(result.config->desk_group, defaults.desk_group);
  EXPECT_EQ(result.config->crm, defaults.crm);
  EXPECT_EQ(result.config->usb_match, defaults.usb_match);
  EXPECT_EQ(result.config->ring_timeout_s, defaults.ring_timeout_s);
  EXPECT_EQ(result.config->inter_digit_timeout_s, defaults.inter_digit_timeout_s);
  EXPECT_EQ(result.config->remote_hangup_after_s, defaults.remote_hangup_after_s);
  EXPECT_EQ(result.config->recording, defaults.recording);
  EXPECT_EQ(result.config->caller_id_mode, defaults.caller_id_mode);
  EXPECT_EQ(result.config->directory, defaults.directory);
  EXPECT_EQ(result.config->http, defaults.http);
}

TEST(Config, HttpSection) {
  const Config config = parse_ok(R"(
[http]
address = "::1"
port = 0
token = "0123456789abcdef-token"
allowed_origins = ["https://crm.example.com", "http://localhost:3000"]
max_connections = 100
max_connections_per_address = 10
)");
  EXPECT_EQ(config.http.max_connections, 100);
  EXPECT_EQ(config.http.max_connections_per_address, 10);
  EXPECT_EQ(config.http.address, "::1");
  EXPECT_EQ(config.http.port, 0);
  EXPECT_EQ(config.http.token, "0123456789abcdef-token");
  EXPECT_EQ(config.http.allowed_origins,
            (std::vector<std::string>{"https://crm.example.com", "http://localhost:3000"}));
}

TEST(Config, HttpOnTheNetworkNeedsTlsOrTheAdminsWord) {
  const Config tls = parse_ok(R"(
[http]
address = "0.0.0.0"
tls_certificate = "/etc/deskline/cert.pem"
tls_key = "/etc/deskline/key.pem"
requests_per_s = 5
request_burst = 10
downloads_per_token = 2
)");
  EXPECT_TRUE(tls.http.tls());
  EXPECT_EQ(tls.http.tls_key, "/etc/deskline/key.pem");
  EXPECT_EQ(tls.http.requests_per_s, 5);
  EXPECT_EQ(tls.http.request_burst, 10);
  EXPECT_EQ(tls.http.downloads_per_token, 2);
  const Config proxied = parse_ok("[http]\naddress = \"192.168.1.10\"\nallow_plain_http_on_network = true\n");
  EXPECT_FALSE(proxied.http.tls());
  EXPECT_TRUE(proxied.http.allow_plain_http_on_network);
  EXPECT_EQ(parse_ok("[http]\naddress = \"127.0.0.2\"\n").http.address, "127.0.0.2");
}

TEST(Config, FullFileParses) {
  const Config config = parse_ok(R"(
[daemon]
data_dir = "/srv/deskline"
run_dir = "/tmp/deskline-run"
log_level = "debug"
desk_group = "sales-desk"
[usb]
match = [ { vendor_id = 0x1209, product_id = 0x8800, name = "x800" },
          { vendor_id = 4660, product_id = 0x0001 } ]
[calls]
ring_timeout_s = 8
inter_digit_timeout_s = 2.5
[[line]]
box = "B1"
port = 16
name = "Front desk"
)");
  EXPECT_EQ(config.data_dir, "/srv/deskline");
  EXPECT_EQ(config.run_dir, "/tmp/deskline-run");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.desk_group, "sales-desk");
  ASSERT_EQ(config.usb_match.size(), 2u);
  EXPECT_EQ(config.usb_match[1], (UsbMatch{0x1234, 0x0001, "1234:0001"}));  // name defaults to the ids
  EXPECT_DOUBLE_EQ(config.ring_timeout_s, 8.0);  // an integer is fine for seconds
  EXPECT_DOUBLE_EQ(config.inter_digit_timeout_s, 2.5);
  ASSERT_EQ(config.lines.size(), 1u);
  EXPECT_EQ(config.lines[0], (LineConfig{"B1", 16, "Front desk", "", {}, {}}));
}

TEST(Config, CrmSectionIsRead) {
  const Config config = parse_ok(R"(
[crm]
url = "https://crm.example.com/deskline"
token_file = "/etc/deskline/crm-token"
signing_secret_file = "crm-secret"
ca_file = "/etc/deskline/crm-ca.pem"
max_in_flight = 8
timeout_s = 20
customers_poll_s = 0
)");
  EXPECT_EQ(config.crm.url, "https://crm.example.com/deskline");
  EXPECT_EQ(config.crm.token_file, "/etc/deskline/crm-token");
  EXPECT_TRUE(config.crm.signing_secret_file.is_absolute());  // from the file's folder
  EXPECT_EQ(config.crm.signing_secret_file.filename(), "crm-secret");
  EXPECT_EQ(config.crm.ca_file, "/etc/deskline/crm-ca.pem");
  EXPECT_EQ(config.crm.max_in_flight, 8);
  EXPECT_EQ(config.crm.timeout_s, 20);
  EXPECT_EQ(config.crm.customers_poll_s, 0);
}

TEST(Config, FlashMaxIsReadAndChecked) {
  EXPECT_EQ(Config{}.flash_max_ms, 800);
  EXPECT_EQ(parse_ok("[calls]\nflash_max_ms = 120\n").flash_max_ms, 120);
  EXPECT_EQ(parse_ok("[calls]\nflash_max_ms = 0\n").flash_max_ms, 0);  // no flash detection
  for (const char* bad : {"-1", "2001", "0.3", "\"800\""}) {
    const auto result = parse(std::string("[calls]\nflash_max_ms = ") + bad + "\n", "test.toml");
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error.key, "calls.flash_max_ms") << bad;
    EXPECT_EQ(result.error.line, 2) << bad;
  }
}

TEST(Config, RemoteHangupDelayIsReadAndChecked) {
  EXPECT_DOUBLE_EQ(parse_ok("[calls]\nremote_hangup_after_s = 3.5\n").remote_hangup_after_s, 3.5);
  const auto zero = parse("[calls]\nremote_hangup_after_s = 0\n", "test.toml");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error.key, "calls.remote_hangup_after_s");
  EXPECT_EQ(zero.error.line, 2);
  const auto text = parse("[calls]\nremote_hangup_after_s = \"2\"\n", "test.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error.key, "calls.remote_hangup_after_s");
}

TEST(Config, UsbMatchAlsoAcceptsArrayOfTablesSyntax) {
  const Config config = parse_ok("[[usb.match]]\nvendor_id = 0x1234\nproduct_id = 0x5678\nname = \"oem\"\n");
  ASSERT_EQ(config.usb_match.size(), 1u);
  EXPECT_EQ(config.usb_match[0], (UsbMatch{0x1234, 0x5678, "oem"}));
}

TEST(Config, RelativeDirectoriesAreTakenFromTheConfigFolder) {
  const Config config =
      parse_ok("[daemon]\ndata_dir = \"data\"\nrun_dir = \"../run/./deskline\"\n", "/etc/deskline/deskline.toml");
  EXPECT_EQ(config.data_dir, "/etc/deskline/data");
  EXPECT_EQ(config.run_dir, "/etc/run/deskline");
  EXPECT_EQ(config.database_path(), "/etc/deskline/data/deskline.db");
}

TEST(Config, RelativeDirectoryOfALoadedFileIsAbsolute) {
  const fs::path folder = fs::temp_directory_path() / ("deskline-config-test-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::ofstream(folder / "deskline.toml") << "[daemon]\ndata_dir = \"state\"\n";
  const auto result = load_file(folder / "deskline.toml");
  ASSERT_TRUE(result) << result.error.to_string();
  EXPECT_EQ(result.config->data_dir, folder / "state");
  fs::remove_all(folder);
}

TEST(Config, LineNamesAndLookup) {
  const Config config = parse_ok("[[line]]\nbox = \"B1\"\nport = 2\nname = \"Sales\"\nuser = \"Li Na\"\n");
  EXPECT_EQ(config.line_name("B1", 2), "Sales");
  EXPECT_EQ(config.line_name("B1", 3), "B1:3");
  EXPECT_EQ(config.line_name("B2", 2), "B2:2");
  ASSERT_NE(config.find_line("B1", 2), nullptr);
  EXPECT_EQ(config.find_line("B1", 2)->user, "Li Na");
  EXPECT_EQ(config.find_line("B1", 1), nullptr);
}

TEST(Config, MissingFileIsAnError) {
  const auto result = load_file("/nonexistent/deskline.toml");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error.file, "/nonexistent/deskline.toml");
  EXPECT_EQ(result.error.line, 0);
  EXPECT_NE(result.error.message.find("cannot read"), std::string::npos) << result.error.message;
  EXPECT_EQ(result.error.to_string().rfind("/nonexistent/deskline.toml: cannot read", 0), 0u)
      << result.error.to_string();
}

// Each file that is not a configuration: refused before reading, with why.
TEST(Config, DirectoryDeviceAndOversizedFileAreRefused) {
  const fs::path folder = fs::temp_directory_path() / ("deskline-config-limits-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::ofstream(folder / "at-limit.toml") << "# " << std::string(max_file_bytes - 3, 'x') << "\n";
  std::ofstream(folder / "past-limit.toml") << "# " << std::string(max_file_bytes - 2, 'x') << "\n";
  const struct {
    fs::path path;
    std::string message;  // "" when accepted
  } rows[] = {
      {folder, "cannot read: is a directory"},
      {"/dev/zero", "cannot read: is not a regular file"},
      {"/dev/null", "cannot read: is not a regular file"},
      {folder / "at-limit.toml", ""},
      {folder / "past-limit.toml", "larger than 1 MiB: not a configuration file"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.path.string());
    const auto result = load_file(row.path);
    if (row.message.empty()) {
      EXPECT_TRUE(result) << result.error.to_string();
      continue;
    }
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error.to_string(), row.path.string() + ": " + row.message);
  }
  fs::remove_all(folder);
}

TEST(Config, ErrorToStringFormat) {
  const ConfigError error{"/etc/deskline/deskline.toml", 12, 8, "line[1].port", "is out of range"};
  EXPECT_EQ(error.to_string(), "/etc/deskline/deskline.toml:12:8: line[1].port: is out of range");
  const ConfigError syntax{"a.toml", 3, 1, "", "expected '='"};
  EXPECT_EQ(syntax.to_string(), "a.toml:3:1: expected '='");
}

std::string every_error(const LoadResult& result) {
  std::string text;
  for (const auto& error : result.errors) text += error.to_string() + "\n";
  return text;
}

// An admin fixing a file sees every mistake at once, in the file's order,
// each with its line and key, not one per try.
TEST(Config, EveryMistakeIsReportedInTheFilesOrder) {
  const auto result = parse(R"([daemon]
log_level = "loud"
colour = "blue"

[recording]
bitrate_bps = 100
complexity = "high"

[[line]]
box = "B1"
port = 17
)",
                            "/etc/deskline/deskline.toml");
  ASSERT_FALSE(result);
  const std::vector<std::pair<int, std::string>> expected{{2, "daemon.log_level"},      {3, "daemon.colour"},
                                                          {6, "recording.bitrate_bps"}, {7, "recording.complexity"},
                                                          {9, "line[0].name"},          {11, "line[0].port"}};
  std::vector<std::pair<int, std::string>> found;
  for (const auto& error : result.errors) found.emplace_back(error.line, error.key);
  EXPECT_EQ(found, expected) << every_error(result);
  ASSERT_EQ(result.errors.size(), expected.size());
  // In the file's order, the first one also as `error`.
  EXPECT_EQ(result.errors[0].key, "daemon.log_level");
  EXPECT_EQ(result.error.key, "daemon.log_level");
  EXPECT_NE(result.errors[5].message.find("17 is out of range"), std::string::npos) << result.errors[5].message;
}

// A key that failed is not blamed again by a check across keys that needs
// its value (one mistake, one error).
TEST(Config, ACheckAcrossKeysIsSkippedWhenOneOfThemFailed) {
  const auto tls = parse("[http]\ntls_certificate = \"cert.pem\"\ntls_key = 5\n", "deskline.toml");
  ASSERT_FALSE(tls);
  ASSERT_EQ(tls.errors.size(), 1u) << every_error(tls);
  EXPECT_EQ(tls.errors[0].key, "http.tls_key");
  const auto crm = parse("[crm]\nurl = \"https://crm.example.com\"\ntoken_file = 7\nsigning_secret_file = \"s\"\n",
                         "deskline.toml");
  ASSERT_EQ(crm.errors.size(), 1u) << every_error(crm);
  EXPECT_EQ(crm.errors[0].key, "crm.token_file");
  const auto lines = parse("[[line]]\nbox = \"B1\"\nport = 1\nname = 3\n[[line]]\nbox = \"B1\"\nport = 1\nname = \"A\"\n",
                           "deskline.toml");
  ASSERT_EQ(lines.errors.size(), 1u) << every_error(lines);
  EXPECT_EQ(lines.errors[0].key, "line[0].name");
  // With nothing else wrong, the check across keys still speaks.
  const auto pair = parse("[http]\ntls_certificate = \"cert.pem\"\n", "deskline.toml");
  ASSERT_EQ(pair.errors.size(), 1u);
  EXPECT_EQ(pair.errors[0].key, "http.tls_key");
}

TEST(Config, ErrorCarriesFileLineColumnAndKey) {
  const auto result = parse("[[line]]\nbox = \"B1\"\nport = 0\nname = \"A\"\n", "/etc/deskline/deskline.toml");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error.file, "/etc/deskline/deskline.toml");
  EXPECT_EQ(result.error.line, 3);
  EXPECT_EQ(result.error.column, 8);
  EXPECT_EQ(result.error.key, "line[0].port");
  EXPECT_EQ(result.error.to_string().rfind("/etc/deskline/deskline.toml:3:8: line[0].port: 0 is out of range", 0),
            0u)
      << result.error.to_string();
}

// ---- one case per error path -------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string text;
  int line;
  std::string key;
  std::string message_part;
};

const std::string good_line = "box = \"B1\"\nport = 1\nname = \"A\"\n";
const std::string good_desk = "name = \"Front\"\ntoken = \"0123456789abcdef\"\nlines = [\"A\"]\n";

std::vector<ErrorCase> error_cases() {
  return {
      // TOML syntax: toml++'s own message and position, no key.
      {"unclosed table header", "[daemon\nlog_level = \"info\"\n", 1, "", ""},
      {"missing value", "[daemon]\nlog_level =\n", 2, "", ""},
      {"duplicate key", "[daemon]\nlog_level = \"info\"\nlog_level = \"debug\"\n", 3, "", ""},
      {"bad escape", "[daemon]\n\n\ndata_dir = \"\\q\"\n", 4, "", ""},
      // Unknown tables and keys.
      {"unknown table", "\n[dameon]\n", 2, "dameon", "unknown key"},
      {"unknown top-level key", "verbose = true\n", 1, "verbose", "unknown key"},
      {"unknown daemon key", "[daemon]\nlog_levle = \"debug\"\n", 2, "daemon.log_levle", "accepts: data_dir"},
      {"unknown usb key", "[usb]\nmatches = []\n", 2, "usb.matches", "unknown key"},
      {"unknown calls key", "[calls]\nring_timeout = 6\n", 2, "calls.ring_timeout", "unknown key"},
      {"unknown line key", "[[line]]\n" + good_line + "extension = 201\n", 5, "line[0].extension",
       "box, port, name, user"},
      {"unknown match key", "[usb]\nmatch = [ { vendor_id = 1, product_id = 2, serial = \"x\" } ]\n", 2,
       "usb.match[0].serial", "unknown key"},
      {"unknown nested table", "[daemon.paths]\nx = 1\n", 1, "daemon.paths", "unknown key"},
      // Wrong types.
      {"daemon is not a table", "daemon = 1\n", 1, "daemon", "must be a table, not an integer"},
      {"data_dir is not a string", "[daemon]\ndata_dir = 5\n", 2, "daemon.data_dir",
       "must be a string, not an integer"},
      {"log_level is a boolean", "[daemon]\nlog_level = true\n", 2, "daemon.log_level", "not a boolean"},
      {"usb.match is a table", "[usb.match]\nvendor_id = 1\n", 1, "usb.match", "must be an array"},
      {"usb.match entry is a number", "[usb]\nmatch = [ 0x1209 ]\n", 2, "usb.match[0]", "must be a table"},
      {"vendor_id is a string", "[usb]\nmatch = [ { vendor_id = \"1209\", product_id = 1 } ]\n", 2,
       "usb.match[0].vendor_id", "must be an integer, not a string"},
      {"match name is an integer", "[usb]\nmatch = [ { vendor_id = 1, product_id = 1, name = 3 } ]\n", 2,
       "usb.match[0].name", "must be a string"},
      {"ring timeout is a string", "[calls]\nring_timeout_s = \"6\"\n", 2, "calls.ring_timeout_s",
       "must be a number of seconds, not a string"},
      {"line is a table", "[line]\nbox = \"B1\"\n", 1, "line", "array of tables"},
      {"line is an array of numbers", "line = [1, 2]\n", 1, "line", "array of tables"},
      {"port is a float", "[[line]]\nbox = \"B1\"\nport = 1.0\nname = \"A\"\n", 3, "line[0].port",
       "must be an integer, not a floating-point number"},
      {"port is a string", "[[line]]\nbox = \"B1\"\nport = \"1\"\nname = \"A\"\n", 3, "line[0].port",
       "must be an integer"},
      {"user is an integer", "[[line]]\n" + good_line + "user = 7\n", 5, "line[0].user", "must be a string"},
      // Out of range values.
      {"log level unknown", "[daemon]\nlog_level = \"verbose\"\n", 2, "daemon.log_level",
       "use debug, info, warning or error"},
      {"data_dir empty", "[daemon]\ndata_dir = \"\"\n", 2, "daemon.data_dir", "must not be empty"},
      {"run_dir empty", "[daemon]\nrun_dir = \"\"\n", 2, "daemon.run_dir", "must not be empty"},
      {"desk group with a colon", "[daemon]\ndesk_group = \"a:b\"\n", 2, "daemon.desk_group",
       "is not a group name"},
      {"desk group starts with -", "[daemon]\ndesk_group = \"-x\"\n", 2, "daemon.desk_group",
       "is not a group name"},
      {"desk group is a number", "[daemon]\ndesk_group = 100\n", 2, "daemon.desk_group", "must be a string"},
      {"crm url without scheme", "[crm]\nurl = \"crm.example\"\n", 2, "crm.url", "is not a CRM base URL"},
      {"crm url with a query", "[crm]\nurl = \"https://crm.example/?a=1\"\n", 2, "crm.url", "is not a CRM base URL"},
      {"crm url without host", "[crm]\nurl = \"https:///x\"\n", 2, "crm.url", "is not a CRM base URL"},
      {"crm url with a user", "[crm]\nurl = \"https://me@crm.example\"\n", 2, "crm.url", "is not a CRM base URL"},
      {"crm url without token", "[crm]\nurl = \"https://crm.example\"\nsigning_secret_file = \"s\"\n", 1,
       "crm.token_file", "is required when crm.url is set"},
      {"crm url without secret", "[crm]\nurl = \"https://crm.example\"\ntoken_file = \"t\"\n", 1,
       "crm.signing_secret_file", "is required when crm.url is set"},
      {"crm in flight 0", "[crm]\nmax_in_flight = 0\n", 2, "crm.max_in_flight", "out of range"},
      {"crm timeout 601", "[crm]\ntimeout_s = 601\n", 2, "crm.timeout_s", "out of range"},
      {"crm poll 5 s", "[crm]\ncustomers_poll_s = 5\n", 2, "crm.customers_poll_s", "at least 10 seconds"},
      {"crm unknown key", "[crm]\nurl_base = \"x\"\n", 2, "crm.url_base", "unknown key"},
      {"socket_group of old configs", "[daemon]\nsocket_group = \"desk\"\n", 2, "daemon.socket_group",
       "renamed: desk_group names the group of events.sock"},
      {"usb match empty", "[usb]\nmatch = []\n", 2, "usb.match", "at least one"},
      {"vendor id above 0xFFFF", "[usb]\nmatch = [ { vendor_id = 0x10000, product_id = 1 } ]\n", 2,
       "usb.match[0].vendor_id", "65536 (0x10000) is out of range"},
      {"product id negative", "[usb]\nmatch = [ { vendor_id = 1, product_id = -1 } ]\n", 2,
       "usb.match[0].product_id", "out of range"},
      {"vendor id missing", "[usb]\nmatch = [ { product_id = 1 } ]\n", 2, "usb.match[0].vendor_id",
       "is required"},
      {"match name empty", "[usb]\nmatch = [ { vendor_id = 1, product_id = 1, name = \"\" } ]\n", 2,
       "usb.match[0].name", "non-empty"},
      {"duplicate usb match",
       "[usb]\nmatch = [\n  { vendor_id = 1, product_id = 2 },\n  { vendor_id = 1, product_id = 2 },\n]\n", 4,
       "usb.match[1]", "already listed as usb.match[0]"},
      {"negative ring timeout", "[calls]\nring_timeout_s = -1.5\n", 2, "calls.ring_timeout_s", "out of range"},
      {"zero ring timeout", "[calls]\nring_timeout_s = 0\n", 2, "calls.ring_timeout_s", "more than 0"},
      {"ring timeout in milliseconds", "[calls]\nring_timeout_s = 6000\n", 2, "calls.ring_timeout_s",
       "at most 60"},
      {"ring timeout nan", "[calls]\nring_timeout_s = nan\n", 2, "calls.ring_timeout_s", "out of range"},
      {"ring timeout inf", "[calls]\nring_timeout_s = inf\n", 2, "calls.ring_timeout_s", "out of range"},
      {"negative inter-digit timeout", "[calls]\ninter_digit_timeout_s = -4\n", 2, "calls.inter_digit_timeout_s",
       "out of range"},
      {"port 0", "[[line]]\nbox = \"B1\"\nport = 0\nname = \"A\"\n", 3, "line[0].port", "1 to 16"},
      {"port 17", "[[line]]\nbox = \"B1\"\nport = 17\nname = \"A\"\n", 3, "line[0].port", "17 is out of range"},
      {"port missing", "\n[[line]]\nbox = \"B1\"\nname = \"A\"\n", 2, "line[0].port", "is required"},
      {"box missing", "[[line]]\nport = 1\nname = \"A\"\n", 1, "line[0].box", "is required"},
      {"name missing", "[[line]]\nbox = \"B1\"\nport = 1\n", 1, "line[0].name", "is required"},
      {"box empty", "[[line]]\nbox = \"\"\nport = 1\nname = \"A\"\n", 2, "line[0].box", "non-empty"},
      {"name empty", "[[line]]\nbox = \"B1\"\nport = 1\nname = \"\"\n", 4, "line[0].name", "non-empty"},
      {"name with a newline", "[[line]]\nbox = \"B1\"\nport = 1\nname = \"A\\nB\"\n", 4, "line[0].name",
       "control characters"},
      {"duplicate line name",
       "[[line]]\n" + good_line + "\n[[line]]\nbox = \"B1\"\nport = 2\nname = \"A\"\n", 9, "line[1].name",
       "\"A\" is already used by line[0] (line 1)"},
      {"duplicate box and port",
       "[[line]]\n" + good_line + "\n[[line]]\nbox = \"B1\"\nport = 1\nname = \"B\"\n", 8, "line[1].port",
       "box \"B1\" port 1 is already configured as line[0] (line 1)"},
      // [[desk]] (after a line "A" on lines 1-4).
      {"desk is a table", "[[line]]\n" + good_line + "[desk]\nname = \"x\"\n", 5, "desk", "array of tables"},
      {"unknown desk key", "[[line]]\n" + good_line + "[[desk]]\n" + good_desk + "phone = 1\n", 9, "desk[0].phone",
       "name, token, lines, may_listen"},
      {"desk name missing", "[[line]]\n" + good_line + "[[desk]]\ntoken = \"0123456789abcdef\"\nlines = [\"A\"]\n", 5,
       "desk[0].name", "is required"},
      {"desk name too long", "[[line]]\n" + good_line + "[[desk]]\nname = \"" + std::string(65, 'd') +
       "\"\ntoken = \"0123456789abcdef\"\nlines = [\"A\"]\n", 6, "desk[0].name", "1 to 64"},
      {"desk token too short", "[[line]]\n" + good_line + "[[desk]]\nname = \"F\"\ntoken = \"short\"\nlines = [\"A\"]\n",
       7, "desk[0].token", "at least 16 characters"},
      {"desk token not for a URL", "[[line]]\n" + good_line +
       "[[desk]]\nname = \"F\"\ntoken = \"0123456789abcdef&x=1\"\nlines = [\"A\"]\n", 7, "desk[0].token", "address"},
      {"desk token is the admin's", "[http]\ntoken = \"0123456789abcdef\"\n[[line]]\n" + good_line + "[[desk]]\n" +
       good_desk, 9, "desk[0].token", "http.token, the admin's"},
      {"desk lines missing", "[[line]]\n" + good_line + "[[desk]]\nname = \"F\"\ntoken = \"0123456789abcdef\"\n", 5,
       "desk[0].lines", "is required"},
      {"desk lines empty", "[[line]]\n" + good_line + "[[desk]]\nname = \"F\"\ntoken = \"0123456789abcdef\"\nlines = []\n",
       8, "desk[0].lines", "at least one"},
      {"desk line unknown", "[[line]]\n" + good_line + "[[desk]]\nname = \"F\"\ntoken = \"0123456789abcdef\"\n"
       "lines = [\"A\", \"Nope\"]\n", 8, "desk[0].lines[1]", "\"Nope\" is not the name of a [[line]] (lines: \"A\")"},
      {"desk line twice", "[[line]]\n" + good_line + "[[desk]]\nname = \"F\"\ntoken = \"0123456789abcdef\"\n"
       "lines = [\"A\", \"A\"]\n", 8, "desk[0].lines[1]", "named twice"},
      {"desk may_listen a string", "[[line]]\n" + good_line + "[[desk]]\n" + good_desk + "may_listen = \"yes\"\n", 9,
       "desk[0].may_listen", "must be true or false"},
      {"desk name twice", "[[line]]\n" + good_line + "[[desk]]\n" + good_desk +
       "[[desk]]\nname = \"Front\"\ntoken = \"fedcba9876543210\"\nlines = [\"A\"]\n", 10, "desk[1].name",
       "\"Front\" is already used by desk[0]"},
      {"desk token twice", "[[line]]\n" + good_line + "[[desk]]\n" + good_desk +
       "[[desk]]\nname = \"Back\"\ntoken = \"0123456789abcdef\"\nlines = [\"A\"]\n", 11, "desk[1].token",
       "desk[0]'s token too"},
      {"unknown recording key", "[recording]\nformat = \"mp3\"\n", 2, "recording.format", "unknown key"},
      {"record policy unknown", "[recording]\npolicy = \"sometimes\"\n", 2, "recording.policy",
       "not a policy"},
      {"bitrate too low", "[recording]\nbitrate_bps = 800\n", 2, "recording.bitrate_bps", "6000 to 64000"},
      {"complexity too high", "[recording]\ncomplexity = 11\n", 2, "recording.complexity", "0 to 10"},
      {"retention negative", "[recording]\nretention_days = -1\n", 2, "recording.retention_days", "out of range"},
      {"min free negative", "[recording]\nmin_free_mb = -5\n", 2, "recording.min_free_mb", "out of range"},
      {"audio device not a list", "[recording]\naudio_device = \"hw:1\"\n", 2, "recording.audio_device",
       "must be an array"},
      {"audio device pattern empty", "[recording]\naudio_device = [\"\"]\n", 2, "recording.audio_device[0]",
       "must not be empty"},
      {"http address is a host name", "[http]\naddress = \"localhost\"\n", 2, "http.address", "not an IP address"},
      {"http port too high", "[http]\nport = 70000\n", 2, "http.port", "0 to 65535"},
      {"http token too short", "[http]\ntoken = \"short\"\n", 2, "http.token", "at least 16"},
      {"http origin with a path", "[http]\nallowed_origins = [\"https://crm.example.com/\"]\n", 2,
       "http.allowed_origins[0]", "not an origin"},
      {"unknown http key", "[http]\nlisten = \"x\"\n", 2, "http.listen", "unknown key"},
      {"http budget zero", "[http]\nmax_connections = 0\n", 2, "http.max_connections", "1 to 256"},
      {"http share too big", "[http]\nmax_connections_per_address = 257\n", 2, "http.max_connections_per_address",
       "1 to 256"},
      {"plain http on the network", "[http]\naddress = \"0.0.0.0\"\n", 2, "http.address",
       "not a loopback address"},
      {"tls key without certificate", "[http]\ntls_key = \"/k.pem\"\n", 1, "http.tls_certificate",
       "go together"},
      {"plain http flag not a boolean", "[http]\nallow_plain_http_on_network = \"yes\"\n", 2,
       "http.allow_plain_http_on_network", "true or false"},
      {"http rate zero", "[http]\nrequests_per_s = 0\n", 2, "http.requests_per_s", "1 to 10000"},
      {"http downloads too many", "[http]\ndownloads_per_token = 300\n", 2, "http.downloads_per_token",
       "1 to 256"},
      {"caller id mode unknown", "[callerid]\nmode = \"fsk\"\n", 2, "callerid.mode", "not a mode"},
      {"region lower case", "[directory]\nregion = \"cn\"\n", 2, "directory.region", "two-letter"},
      {"area code letters", "[directory]\narea_code = \"1O\"\n", 2, "directory.area_code", "up to 5 digits"},
      {"line record policy unknown", "[[line]]\n" + good_line + "record = \"yes\"\n", 5, "line[0].record",
       "not a policy"},
      {"line caller id mode unknown", "[[line]]\n" + good_line + "callerid = 1\n", 5, "line[0].callerid",
       "must be a string"},
  };
}

TEST(Config, RecordingCallerIdAndDirectorySections) {
  const Config config = parse_ok(R"(
[recording]
policy = "inbound"
bitrate_bps = 24000
complexity = 9
retention_days = 90
min_free_mb = 1024
audio_device = ["X800 USB Audio"]

[callerid]
mode = "v23"

[directory]
region = "GB"
area_code = "020"

[[line]]
box = "B1"
port = 1
name = "Boss"
record = "never"
callerid = "dtmf"

[[line]]
box = "B1"
port = 2
name = "Desk"
)");
  EXPECT_EQ(config.recording.policy, RecordPolicy::inbound);
  EXPECT_EQ(config.recording.bitrate_bps, 24000);
  EXPECT_EQ(config.recording.complexity, 9);
  EXPECT_EQ(config.recording.retention_days, 90);
  EXPECT_EQ(config.recording.min_free_mb, 1024u);
  EXPECT_EQ(config.recording.audio_device, std::vector<std::string>{"X800 USB Audio"});
  EXPECT_EQ(config.caller_id_mode, CallerIdMode::v23);
  EXPECT_EQ(config.directory.region, "GB");
  EXPECT_EQ(config.directory.area_code, "20");  // the trunk prefix 0 is not part of the area code
  EXPECT_EQ(config.record_policy("B1", 1), RecordPolicy::never);
  EXPECT_EQ(config.record_policy("B1", 2), RecordPolicy::inbound);
  EXPECT_EQ(config.record_policy("B9", 1), RecordPolicy::inbound);
  EXPECT_EQ(config.caller_id_mode_for("B1", 1), CallerIdMode::dtmf);
  EXPECT_EQ(config.caller_id_mode_for("B1", 2), CallerIdMode::v23);
  EXPECT_EQ(config.recordings_dir(), config.data_dir / "recordings");
}

TEST(ConfigErrors, EveryErrorPathNamesLineAndKey) {
  for (const auto& test : error_cases()) {
    SCOPED_TRACE(test.name);
    const auto result = parse(test.text, "/etc/deskline/deskline.toml");
    ASSERT_FALSE(result) << test.text;
    EXPECT_EQ(result.error.file, "/etc/deskline/deskline.toml");
    EXPECT_EQ(result.error.line, test.line) << result.error.to_string();
    EXPECT_GT(result.error.column, 0) << result.error.to_string();
    EXPECT_EQ(result.error.key, test.key) << result.error.to_string();
    EXPECT_FALSE(result.error.message.empty());
    EXPECT_NE(result.error.message.find(test.message_part), std::string::npos) << result.error.to_string();
  }
}

TEST(ConfigErrors, SamePortOnTwoBoxesIsFine) {
  const Config config = parse_ok("[[line]]\n" + good_line + "[[line]]\nbox = \"B2\"\nport = 1\nname = \"B\"\n");
  EXPECT_EQ(config.lines.size(), 2u);
}

TEST(ConfigErrors, InvalidUtf8IsASyntaxError) {
  const std::string text = "[daemon]\nlog_level = \"\xff\xfe\"\n";
  const auto result = parse(text, "x.toml");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error.line, 2);
}

}  // namespace
}  // namespace deskline::config
