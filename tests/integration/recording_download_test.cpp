// Recordings over HTTP (proto/http.md "Recordings") from a real daemon under
// deskline-sim, with real clients: curl ranges, ffprobe and ffmpeg reading
// (and seeking) over HTTP, Chromium's <audio> seeking into the middle, the
// WAV against opusdec; hostile ids, ranges and headers; TLS with a throwaway
// CA; a slow reader of a large file while a call pops.
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <random>
#include <regex>

#include "tests/integration/chromium.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"
#include "tests/integration/raw_connection.hpp"

namespace deskline::testing {
namespace {

// Line 1: a 5 s tone call, recorded and ended early. Line 2: a call still
// connected when the tests run (its recording is in progress). Ends late;
// the tests stop it.
constexpr const char* two_calls = R"(
box A serial=X800-DL lines=2 rate=8000
at 0.5 A:1 ring cadence=0.5/0.5 count=1
at 0.6 A:1 callerid number=13812345678
at 1.0 A:1 offhook
at 1.2 A:1 play tone=440 level=-10 duration=5
at 7.0 A:1 onhook
at 7.5 A:2 ring cadence=0.5/0.5 count=1
at 7.6 A:2 callerid number=02161234567
at 8.0 A:2 offhook
at 170 end
)";

// The desk page's token (daemon.token) opens the pop events only; the
// recordings take an API token.
struct Daemon : WebDaemon {
  std::string api_token;
};

Daemon start(const Workspace& workspace, const std::string& scenario) {
  Daemon daemon{workspace.start_web_daemon(scenario), workspace.add_api_token("crm")};
  EXPECT_TRUE(daemon.api_token.starts_with("dlk_")) << daemon.api_token;
  return daemon;
}

// The recording of the call with this number once it is complete: {call_id, path, ...}.
nlohmann::json complete_recording(const Workspace& workspace, const std::string& number) {
  nlohmann::json found;
  EXPECT_TRUE(wait_until(
      [&] {
        const auto recordings = workspace.cli_json({"recordings", "--json"});
        if (!recordings.is_array()) return false;
        for (const auto& recording : recordings)
          if (recording.value("number", "") == number && recording.value("state", "") == "complete")
            found = recording;
        return found.is_object();
      },
      std::chrono::seconds(60), "the recording of " + number + " to be complete"))
      << workspace.log();
  return found;
}

std::string call_id_of(const Workspace& workspace, const std::string& number) {
  std::string id;
  EXPECT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        const auto* call = calls.is_array() ? find_call_by_number(calls, number) : nullptr;
        if (call) id = (*call)["id"];
        return !id.empty();
      },
      std::chrono::seconds(30), "the call of " + number))
      << workspace.log();
  return id;
}

// One curl request; the status code, the head in headers, the body in the file body.
struct Curl {
  int exit_status = -1;
  int status = 0;
  std::string headers;
  std::string body;
};
Curl curl(const Daemon& daemon, const fs::path& scratch, const std::string& target,
          std::vector<std::string> options = {}, const std::string& ca = "") {
  const auto head_file = scratch / "curl.head", body_file = scratch / "curl.body";
  fs::remove(head_file);
  fs::remove(body_file);
  std::vector<std::string> argv{"curl", "-s", "-o", body_file.string(), "-D", head_file.string(), "-w", "%{http_code}"};
  if (std::none_of(options.begin(), options.end(), [](const auto& option) { return option.starts_with("Authorization:"); }))
    argv.insert(argv.end(), {"-H", "Authorization: Bearer " + daemon.api_token});
  if (!ca.empty()) argv.insert(argv.end(), {"--cacert", ca});
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(fmt::format("{}://127.0.0.1:{}{}", daemon.scheme, daemon.port, target));
  Curl answer;
  std::string code;
  answer.exit_status = tools::run_capture(argv, code);
  answer.status = std::atoi(code.c_str());
  answer.headers = read_file(head_file);
  answer.body = read_file(body_file);
  return answer;
}

std::string header(const std::string& head, const std::string& name) {
  std::smatch value;
  if (!std::regex_search(head, value, std::regex("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase))) return "";
  return value[1];
}

double ffprobe_url(const std::string& url, const std::string& token) {
  std::string output;
  if (tools::run_capture({"ffprobe", "-v", "error", "-headers", "Authorization: Bearer " + token + "\r\n",
                          "-show_entries", "format=duration", "-of", "csv=p=0", url},
                         output) != 0)
    return -1;
  return std::atof(output.c_str());
}

// The 206 answers the daemon logged for a call's recording: "FIRST-LAST/SIZE".
std::vector<std::string> served_ranges(const Workspace& workspace, const std::string& call_id) {
  std::vector<std::string> ranges;
  std::istringstream log(workspace.log());
  const std::regex served("call=" + call_id + " recording 206 bytes ([0-9]+-[0-9]+/[0-9]+)");
  for (std::string line; std::getline(log, line);) {
    std::smatch range;
    if (std::regex_search(line, range, served)) ranges.push_back(range[1]);
  }
  return ranges;
}

std::string upper_case(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

TEST(RecordingDownload, RangesConditionalsAndRealClients) {
  Workspace workspace("download");
  const auto daemon = start(workspace, two_calls);
  ASSERT_GT(daemon.port, 0) << workspace.log();
  const auto recording = complete_recording(workspace, "13812345678");
  ASSERT_TRUE(recording.is_object());
  const std::string call_id = recording["call_id"];
  const auto file = read_file(recording["path"].get<std::string>());
  ASSERT_GT(file.size(), 2000u);
  const auto size = file.size();
  const auto target = "/v1/recordings/" + call_id;
  const auto& scratch = workspace.dir();

  // The whole file, with its validators and a readable name.
  auto whole = curl(daemon, scratch, target);
  ASSERT_EQ(whole.status, 200) << whole.headers << whole.body;
  EXPECT_TRUE(whole.body == file);
  EXPECT_EQ(header(whole.headers, "Content-Type"), "audio/ogg");
  EXPECT_EQ(header(whole.headers, "Accept-Ranges"), "bytes");
  const auto etag = header(whole.headers, "ETag");
  EXPECT_EQ(etag, "\"" + recording["sha256"].get<std::string>() + "\"");
  EXPECT_TRUE(std::regex_search(header(whole.headers, "Content-Disposition"),
                                std::regex(R"(^attachment; filename="\d{4}-\d\d-\d\d_\d{4}_X800-DL:1_inbound_13812345678\.opus"$)")))
      << whole.headers;
  EXPECT_FALSE(header(whole.headers, "Last-Modified").empty());

  // HEAD: the same head (curl -I writes it where the body would go).
  const auto head = curl(daemon, scratch, target, {"-I"});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(header(head.headers, "Content-Length"), std::to_string(size));
  EXPECT_EQ(header(head.headers, "ETag"), header(whole.headers, "ETag"));

  // curl -r: a range, an open range, a suffix range.
  struct RangeCase {
    std::string option;
    std::size_t first, last;
  };
  for (const auto& [option, first, last] : {RangeCase{"100-1099", 100, 1099}, RangeCase{"500-", 500, size - 1},
                                            RangeCase{"-300", size - 300, size - 1},
                                            RangeCase{"0-99999999", 0, size - 1}}) {
    SCOPED_TRACE(option);
    const auto part = curl(daemon, scratch, target, {"-r", option});
    ASSERT_EQ(part.status, 206) << part.headers << part.body;
    EXPECT_EQ(header(part.headers, "Content-Range"), fmt::format("bytes {}-{}/{}", first, last, size));
    EXPECT_TRUE(part.body == file.substr(first, last - first + 1));
  }
  // Two ranges asked at once on one keep-alive connection: each answer is
  // exactly its range (curl above stops at Content-Length and hangs up, so
  // bytes sent past a range would go unseen there and corrupt the next answer here).
  RawConnection kept;
  ASSERT_TRUE(kept.connect_tcp(daemon.port));
  for (const char* range : {"0-9", "100-109"})
    kept.send(fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nRange: bytes={}\r\n\r\n", target,
                          daemon.api_token, range));
  // Each answer's body: the 10 bytes after its head; nullopt until both are in.
  const auto bodies = [](const std::string& data) -> std::optional<std::pair<std::string, std::string>> {
    const auto first_head = data.find("\r\n\r\n");
    if (first_head == std::string::npos || data.size() < first_head + 4 + 10) return std::nullopt;
    const auto second = first_head + 4 + 10;
    const auto second_head = data.find("\r\n\r\n", second);
    if (second_head == std::string::npos || data.size() < second_head + 4 + 10) return std::nullopt;
    if (data.compare(second, 13, "HTTP/1.1 206 ") != 0) return std::nullopt;
    return std::pair{data.substr(first_head + 4, 10), data.substr(second_head + 4, 10)};
  };
  const auto both = kept.read_until([&](const std::string& data) { return bodies(data).has_value(); },
                                    std::chrono::seconds(5));
  const auto parts = bodies(both);
  ASSERT_TRUE(parts.has_value()) << "not two answers of 10 bytes each: " << both.size() << " bytes\n"
                                 << both.substr(0, 600);
  EXPECT_TRUE(both.starts_with("HTTP/1.1 206 ")) << both.substr(0, 200);
  EXPECT_TRUE(parts->first == file.substr(0, 10));
  EXPECT_TRUE(parts->second == file.substr(100, 10));
  EXPECT_EQ(both.size(), both.find("\r\n\r\n", both.find("\r\n\r\n") + 14) + 4 + 10) << "bytes after the second answer";

  // Past the end, a last-0 suffix, several ranges, an absurd start: 416, nothing of the file.
  const std::vector<std::string> unservable = {fmt::format("{}-", size), "-0", "0-1,5-9", "99999999999999999999999-",
                                               "abc"};
  for (const auto& range : unservable) {
    SCOPED_TRACE(range);
    const auto refused = curl(daemon, scratch, target, {"-H", "Range: bytes=" + range});
    EXPECT_EQ(refused.status, 416) << refused.headers;
    EXPECT_EQ(header(refused.headers, "Content-Range"), fmt::format("bytes */{}", size));
    EXPECT_TRUE(refused.body.starts_with("{\"error\"")) << refused.body;
  }
  std::string many = "Range: bytes=0-0";
  for (int i = 1; i < 500; ++i) many += fmt::format(",{}-{}", i * 2, i * 2);
  const auto many_ranges = curl(daemon, scratch, target, {"-H", many});
  EXPECT_EQ(many_ranges.status, 416);
  EXPECT_EQ(many_ranges.body.find("OggS"), std::string::npos);

  // Conditionals: If-None-Match gives 304; If-Range with another tag gives the whole file.
  const auto not_modified = curl(daemon, scratch, target, {"-H", "If-None-Match: " + etag});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(curl(daemon, scratch, target, {"-H", "If-None-Match: \"other\""}).status, 200);
  const auto if_range = curl(daemon, scratch, target, {"-r", "0-9", "-H", "If-Range: " + etag});
  EXPECT_EQ(if_range.status, 206);
  const auto stale = curl(daemon, scratch, target, {"-r", "0-9", "-H", "If-Range: \"other\""});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body.size(), size);

  // ffprobe over HTTP reads the same duration as from the disk; ffmpeg seeks into it.
  const auto url = fmt::format("http://127.0.0.1:{}{}", daemon.port, target);
  const double disk_duration = ffprobe_duration(recording["path"].get<std::string>());
  EXPECT_NEAR(ffprobe_url(url, daemon.api_token), disk_duration, 0.001);
  const auto ranges_before_ffmpeg = served_ranges(workspace, call_id).size();
  const auto seeked = scratch / "seeked.wav";
  std::string output;
  ASSERT_EQ(run_with_stderr({"ffmpeg", "-v", "error", "-y", "-headers", "Authorization: Bearer " + daemon.api_token + "\r\n",
                             "-ss", "3", "-i", url, "-t", "1", seeked.string()},
                            output),
            0)
      << output;
  EXPECT_NEAR(ffprobe_duration(seeked), 1.0, 0.05);
  EXPECT_GT(served_ranges(workspace, call_id).size(), ranges_before_ffmpeg) << "ffmpeg asked for ranges";

  // ?format=wav: ffprobe's duration is the recording's, the samples are opusdec's.
  const auto wav = curl(daemon, scratch, target + "?format=wav");
  ASSERT_EQ(wav.status, 200) << wav.headers << wav.body;
  EXPECT_EQ(header(wav.headers, "Content-Type"), "audio/wav");
  EXPECT_EQ(header(wav.headers, "Content-Length"), std::to_string(wav.body.size()));
  EXPECT_EQ(header(wav.headers, "ETag"), "\"" + recording["sha256"].get<std::string>() + "-wav\"");
  std::ofstream(scratch / "download.wav", std::ios::binary) << wav.body;
  EXPECT_NEAR(ffprobe_duration(scratch / "download.wav"), recording["duration_s"].get<double>(), 0.020);
  ASSERT_EQ(run_with_stderr({"opusdec", "--quiet", "--rate", "8000", "--no-dither",
                             recording["path"].get<std::string>(), (scratch / "opusdec.raw").string()},
                            output),
            0)
      << output;
  const auto reference = read_file(scratch / "opusdec.raw");
  ASSERT_GT(wav.body.size(), 44u);
  EXPECT_EQ(wav.body.size() - 44, reference.size());
  EXPECT_TRUE(wav.body.substr(44) == reference) << "the WAV's samples differ from opusdec's";
  EXPECT_EQ(curl(daemon, scratch, target + "?format=wav", {"-I"}).status, 200);
  const auto mp3 = curl(daemon, scratch, target + "?format=mp3");
  EXPECT_EQ(mp3.status, 406);
  EXPECT_NE(mp3.body.find("wav"), std::string::npos) << mp3.body;

  // Refusals: nothing of any file in any of them.
  const auto active = call_id_of(workspace, "02161234567");
  const auto revoked = workspace.add_api_token("revoked");
  ASSERT_EQ(workspace.revoke_api_token("revoked"), 0);
  struct Refusal {
    std::string target;
    int status;
    std::vector<std::string> options;
  };
  const std::vector<Refusal> refusals = {
      {"/v1/recordings/" + active, 409, {}},
      {"/v1/recordings/00000000-0000-4000-8000-000000000000", 404, {}},
      {"/v1/recordings/..%2F..%2F..%2Fetc%2Fpasswd", 400, {}},
      {"/v1/recordings/%2e%2e/deskline.db", 400, {"--path-as-is"}},
      {"/v1/recordings/../../deskline.toml", 400, {"--path-as-is"}},
      {"/v1/recordings/" + std::string(5000, 'a'), 400, {}},
      {"/v1/recordings/" + call_id + "x", 400, {}},
      {"/v1/recordings/" + call_id.substr(0, 35) + "%00", 400, {}},
      {"/v1/recordings/" + upper_case(call_id), 404, {}},  // a UUID, but no call's
      {"/v1/recordings/", 400, {}},
      {target, 401, {"-H", "Authorization: Bearer wrong-token-of-the-right-size-000"}},
      {target, 401, {"-H", "Authorization:"}},  // no token
      {target + "?token=dlk_" + std::string(43, 'x'), 401, {"-H", "Authorization:"}},
      {target, 403, {"-H", "Authorization: Bearer " + daemon.token}},  // the desk page's token
      {target + "?token=" + daemon.token, 403, {"-H", "Authorization:"}},
      {target, 401, {"-H", "Authorization: Bearer " + revoked}},
      {target, 400, {"-H", "Range: bytes=" + std::string(9000, '1') + "-"}},  // past the header limit
  };
  for (const auto& refusal : refusals) {
    SCOPED_TRACE(refusal.target.substr(0, 80));
    const auto answer = curl(daemon, scratch, refusal.target, refusal.options);
    EXPECT_EQ(answer.status, refusal.status) << answer.headers << answer.body;
    EXPECT_EQ(answer.body.find("OggS"), std::string::npos);
    EXPECT_EQ(answer.body.find("root:"), std::string::npos);
  }
  const auto in_progress = curl(daemon, scratch, "/v1/recordings/" + active);
  EXPECT_NE(in_progress.body.find("\"state\":\"recording\""), std::string::npos) << in_progress.body;
  workspace.stop_web_daemon(daemon);
}

// Puts another Ogg file in place of a recording, and its size and digest in the row.
void replace_recording(const Workspace& workspace, const nlohmann::json& recording, const fs::path& file) {
  const std::string path = recording["path"];
  fs::copy_file(file, path, fs::copy_options::overwrite_existing);
  std::string digest;
  ASSERT_EQ(tools::run_capture({"sha256sum", path}, digest), 0);
  std::string output;
  ASSERT_EQ(run_with_stderr({"sqlite3", (workspace.dir() / "data" / "deskline.db").string(),
                             fmt::format("UPDATE recordings SET bytes = {}, sha256 = '{}' WHERE call_id = '{}'",
                                         fs::file_size(path), digest.substr(0, 64),
                                         recording["call_id"].get<std::string>())},
                            output),
            0)
      << output;
}

// Chromium (headless) plays a recording in an <audio> element of a file: page
// and seeks to the middle; the title says where it got, and the test waits
// for it to say so. A media element cannot send headers: the token goes in the
// query, as the pop page's does. preload=auto takes a short file whole;
// preload=metadata with play() makes the browser fetch what it needs where it
// seeks.
std::string chromium_seek(const fs::path& scratch, const std::string& url, const std::string& token, bool whole) {
  const auto page = scratch / "audio.html";
  std::ofstream(page) << "<!doctype html><title>loading</title><audio id=a "
                      << (whole ? "preload=auto" : "preload=metadata muted") << "></audio><script>\n"
                      << "const a = document.getElementById('a');\n"
                      << "a.onloadedmetadata = () => { a.currentTime = a.duration / 2; "
                      << (whole ? "" : "a.play(); ") << "};\n"
                      << "a.onseeked = () => { document.title = 'seeked ' + a.currentTime.toFixed(1) + ' of ' +"
                      << " a.duration.toFixed(1); };\n"
                      << "a.onerror = () => { document.title = 'error ' + a.error.code; };\n"
                      << fmt::format("a.src = '{}?token={}';\n", url, token) << "</script>";
  HeadlessChromium chromium(scratch / "chromium", scratch / "chromium.log");
  const auto title = chromium.title_once("file://" + page.string(), "^(seeked|error)", std::chrono::seconds(120));
  return title.value_or("no title in time: see " + (scratch / "chromium.log").string());
}

TEST(RecordingDownload, ChromiumSeeksIntoTheMiddle) {
  Workspace workspace("download-chromium");
  const auto daemon = start(workspace, two_calls);
  ASSERT_GT(daemon.port, 0) << workspace.log();
  const auto recording = complete_recording(workspace, "13812345678");
  ASSERT_TRUE(recording.is_object());
  const auto& scratch = workspace.dir();
  const std::string call_id = recording["call_id"];
  const auto url = fmt::format("http://127.0.0.1:{}/v1/recordings/{}", daemon.port, call_id);

  // The 6 s recording: Chromium takes it whole and lands in the middle.
  const std::regex seeked(R"(seeked (\d+\.\d) of (\d+\.\d))");
  const auto title = chromium_seek(scratch, url, daemon.api_token, true);
  std::smatch seeked_to;
  ASSERT_TRUE(std::regex_match(title, seeked_to, seeked)) << title;
  EXPECT_NEAR(std::stod(seeked_to[2]), ffprobe_duration(recording["path"].get<std::string>()), 0.1);
  EXPECT_NEAR(std::stod(seeked_to[1]), std::stod(seeked_to[2]) / 2, 0.1);

  // A ten-minute recording of about 38 MB: beyond what the socket buffers
  // (a few MB each way on loopback) and the browser's read-ahead hold, so its
  // seek is a range that starts in the middle of the file however fast the
  // daemon sends the first part.
  std::string output;
  ASSERT_EQ(run_with_stderr({"sh", "-c",
                             "sox -n -r 48000 -c 2 -b 16 -t raw - synth 600 sine 300-3000 sine 500-2500 vol 0.5 | "
                             "opusenc --quiet --raw --raw-rate 48000 --raw-chan 2 --comp 0 --bitrate 512 - "
                             "\"$0/long.opus\"",
                             scratch.string()},
                            output),
            0)
      << output;
  replace_recording(workspace, recording, scratch / "long.opus");
  const auto size = fs::file_size(scratch / "long.opus");
  const auto ranges_before = served_ranges(workspace, call_id).size();
  const auto long_title = chromium_seek(scratch, url, daemon.api_token, false);
  ASSERT_TRUE(std::regex_match(long_title, seeked_to, seeked)) << long_title;
  EXPECT_NEAR(std::stod(seeked_to[1]), 300, 1);
  const auto ranges = served_ranges(workspace, call_id);
  bool from_the_middle = false;
  for (auto i = ranges_before; i < ranges.size(); ++i) {
    const auto first = std::stoull(ranges[i]);
    from_the_middle = from_the_middle || (first > size / 4 && first < size * 3 / 4);
  }
  EXPECT_TRUE(from_the_middle) << "ranges served to Chromium: " << fmt::format("{}", fmt::join(ranges, " "));
  workspace.stop_web_daemon(daemon);
}

TEST(RecordingDownload, OverTlsWithAThrowawayCa) {
  const auto tls = fs::temp_directory_path() / ("deskline-it-download-ca-" + std::to_string(::getpid()));
  fs::create_directories(tls);
  make_test_certificates(tls, "desk.test");
  Workspace workspace("download-tls", fmt::format("tls_certificate = \"{}\"\ntls_key = \"{}\"\n",
                                                  (tls / "server.pem").string(), (tls / "server.key").string()));
  const auto daemon = start(workspace, two_calls);
  ASSERT_EQ(daemon.scheme, "https") << workspace.log();
  const auto recording = complete_recording(workspace, "13812345678");
  ASSERT_TRUE(recording.is_object());
  const auto target = "/v1/recordings/" + recording["call_id"].get<std::string>();
  const auto ca = (tls / "ca.pem").string();

  const auto whole = curl(daemon, workspace.dir(), target, {}, ca);
  ASSERT_EQ(whole.status, 200) << whole.headers;
  EXPECT_TRUE(whole.body == read_file(recording["path"].get<std::string>()));
  EXPECT_EQ(curl(daemon, workspace.dir(), target, {"-r", "10-19"}, ca).status, 206);
  // Without the CA, curl refuses the certificate.
  EXPECT_NE(curl(daemon, workspace.dir(), target).exit_status, 0);

  // Plain HTTP to the TLS port: no answer, the connection closed; the daemon serves on.
  std::string output;
  EXPECT_NE(tools::run_capture({"curl", "-s", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code}",
                                fmt::format("http://127.0.0.1:{}{}", daemon.port, target)},
                               output),
            0);
  EXPECT_EQ(output, "000");
  // A TLS 1.0 client (enabled on the client side for the test) is refused by the daemon.
  const auto endpoint = fmt::format("127.0.0.1:{}", daemon.port);
  EXPECT_NE(run_with_stderr({"sh", "-c",
                             "exec openssl s_client -connect \"$0\" -tls1 -cipher DEFAULT@SECLEVEL=0 </dev/null",
                             endpoint},
                            output),
            0);
  EXPECT_TRUE(output.find("alert protocol version") != std::string::npos ||
              output.find("unsupported protocol") != std::string::npos)
      << output;
  EXPECT_EQ(run_with_stderr({"sh", "-c", "exec openssl s_client -connect \"$0\" -tls1_2 -CAfile \"$1\" </dev/null",
                             endpoint, ca},
                            output),
            0)
      << output;
  EXPECT_NE(output.find("Verify return code: 0 (ok)"), std::string::npos) << output;
  // The pop WebSocket over TLS (wss): the upgrade and the hello.
  tools::run_capture({"curl", "-s", "-i", "-N", "--max-time", "3", "--cacert", ca, "-H", "Connection: Upgrade", "-H",
                      "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H",
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                      fmt::format("https://127.0.0.1:{}/v1/events?token={}", daemon.port, daemon.token)},
                     output);
  EXPECT_NE(output.find("101 Switching Protocols"), std::string::npos) << output;
  EXPECT_NE(output.find("\"hello\""), std::string::npos) << output;
  EXPECT_EQ(curl(daemon, workspace.dir(), target, {}, ca).status, 200) << "still serving";
  workspace.stop_web_daemon(daemon);
  fs::remove_all(tls);
}

TEST(RecordingDownload, TlsFilesAreCheckedAtStart) {
  Workspace workspace("download-tls-missing",
                      "tls_certificate = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n");
  workspace.run_scenario("box A serial=X800-TLS lines=1\nat 5 end\n", StopCheck::any_status);
  EXPECT_NE(workspace.log().find("http.tls_certificate /nonexistent/cert.pem: No such file or directory"),
            std::string::npos)
      << workspace.log();
}

long rss_kib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return -1;
}

TEST(RecordingDownload, ASlowReaderCostsNoMemoryAndPopsGoOn) {
  Workspace workspace("download-slow");
  std::string scenario = two_calls;
  scenario.insert(scenario.find("at 170 end"), "at 20 A:1 ring cadence=1.0/1.0 count=3\nat 20.1 A:1 callerid number=13900000001\n");
  const auto daemon = start(workspace, scenario);
  ASSERT_GT(daemon.port, 0) << workspace.log();
  auto recording = complete_recording(workspace, "13812345678");
  ASSERT_TRUE(recording.is_object());
  // Make the recording 64 MiB (its file and row): far beyond any socket buffer.
  const std::string path = recording["path"];
  constexpr std::size_t big = 64u << 20;
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    std::mt19937 random(1);
    std::string block(1 << 20, '\0');
    for (auto& c : block) c = static_cast<char>(random());
    while (fs::file_size(path) + block.size() <= big) out.write(block.data(), static_cast<std::streamsize>(block.size())), out.flush();
  }
  const auto size = fs::file_size(path);
  std::string output;
  ASSERT_EQ(run_with_stderr({"sqlite3", (workspace.dir() / "data" / "deskline.db").string(),
                             fmt::format("UPDATE recordings SET bytes = {} WHERE call_id = '{}'", size,
                                         recording["call_id"].get<std::string>())},
                            output),
            0)
      << output;

  PopTestClient pops;
  ASSERT_TRUE(pops.connect(workspace.dir() / "run" / "events.sock"));
  const long rss_before = rss_kib(daemon.pid);
  RawConnection slow;
  ASSERT_TRUE(slow.connect_tcp(daemon.port, "127.0.0.1", 16 * 1024));
  slow.send(fmt::format("GET /v1/recordings/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
                        recording["call_id"].get<std::string>(), daemon.api_token));
  // Read slowly (64 KiB per pop or 40 ms, about 1.6 MB/s) until the call that rings
  // at 20 s has popped: the download runs all the while.
  std::size_t read = 0;
  long rss_peak = rss_before;
  std::optional<nlohmann::json> ringing;
  const auto download_start = std::chrono::steady_clock::now();
  while (!ringing && read < size) {
    const auto data = slow.read_until([](const std::string& bytes) { return bytes.size() >= 65536; });
    ASSERT_FALSE(data.empty()) << "the download stopped after " << read << " bytes\n" << workspace.log();
    read += data.size();
    rss_peak = std::max(rss_peak, rss_kib(daemon.pid));
    // The reader's pace: it waits up to 40 ms for a pop before it reads on.
    if (const auto event = pops.next(std::chrono::milliseconds(40)); event && event->value("event", "") == "call.ringing")
      ringing = event;
  }
  ASSERT_TRUE(ringing.has_value()) << "no pop of the call that rang during the download\n" << workspace.log();
  EXPECT_LT(read, size) << "the download ended before the call rang: it proves nothing";
  std::printf("[ measure  ] %zu bytes read in %.1f s\n", read,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - download_start).count());
  std::printf("[ measure  ] daemon RSS %ld KiB before, peak %ld KiB while a 64 MiB recording was read slowly\n",
              rss_before, rss_peak);
  EXPECT_LT(rss_peak - rss_before, 16 * 1024) << "the daemon buffered the file";

  // The file is cut to half behind the daemon's back mid-download: the
  // connection ends short of the length its head promised, and the log says why.
  fs::resize_file(path, size / 2);
  const auto rest = slow.drain_until_closed(std::chrono::seconds(60));
  ASSERT_TRUE(rest.has_value()) << "the connection stayed open\n" << workspace.log();
  EXPECT_LT(read + *rest, size / 2 + 4096) << "more than the cut file (and a head) was sent";
  EXPECT_TRUE(wait_until([&] { return workspace.log().find("recording read failed mid-download") != std::string::npos; },
                         std::chrono::seconds(10), "the cut in the log"))
      << workspace.log();
  workspace.stop_web_daemon(daemon);
}

// With every download slot of a token taken, only a download that would
// start is refused (429): what needs no file (no call, a recording still
// being made, an unchanged one) is answered as before, and the slot is free
// again once its download ends.
TEST(RecordingDownload, TheDownloadLimitRefusesOnlyADownloadThatWouldStart) {
  Workspace workspace("download-limit", "downloads_per_token = 1\n");
  const auto daemon = start(workspace, two_calls);
  ASSERT_GT(daemon.port, 0) << workspace.log();
  const auto recording = complete_recording(workspace, "13812345678");
  ASSERT_TRUE(recording.is_object());
  const std::string call_id = recording["call_id"];
  const auto target = "/v1/recordings/" + call_id;
  const auto& scratch = workspace.dir();
  const auto etag = "\"" + recording["sha256"].get<std::string>() + "\"";
  // 32 MiB (file and row), more than the socket buffers hold: a client that
  // does not read holds its download, and the token's one slot, open.
  const std::string path = recording["path"];
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    const std::string block(1 << 20, 'x');
    while (fs::file_size(path) + block.size() <= (32u << 20)) out.write(block.data(), static_cast<std::streamsize>(block.size())), out.flush();
  }
  std::string output;
  ASSERT_EQ(run_with_stderr({"sqlite3", (workspace.dir() / "data" / "deskline.db").string(),
                             fmt::format("UPDATE recordings SET bytes = {} WHERE call_id = '{}'", fs::file_size(path),
                                         call_id)},
                            output),
            0)
      << output;

  RawConnection holder;
  ASSERT_TRUE(holder.connect_tcp(daemon.port, "127.0.0.1", 16 * 1024));
  holder.send(fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n", target, daemon.api_token));
  const auto head = holder.read_until([](const std::string& data) { return data.find("\r\n\r\n") != std::string::npos; });
  ASSERT_TRUE(head.starts_with("HTTP/1.1 200 ")) << head.substr(0, 300) << workspace.log();

  const auto refused = curl(daemon, scratch, target);
  EXPECT_EQ(refused.status, 429) << refused.headers << refused.body;
  EXPECT_EQ(header(refused.headers, "Retry-After"), "1");
  EXPECT_EQ(refused.body.find("OggS"), std::string::npos);
  EXPECT_EQ(curl(daemon, scratch, target, {"-H", "If-None-Match: " + etag}).status, 304);
  EXPECT_EQ(curl(daemon, scratch, "/v1/recordings/00000000-0000-4000-8000-000000000000").status, 404);
  // The second call's recording starts when it is answered, at 8 s of the scenario.
  const auto active = "/v1/recordings/" + call_id_of(workspace, "02161234567");
  EXPECT_TRUE(wait_until([&] { return curl(daemon, scratch, active).status == 409; }, std::chrono::seconds(30),
                         "409 for the recording in progress"))
      << workspace.log();

  holder.close();  // the download ends with its connection, and gives its slot back
  Curl whole;
  EXPECT_TRUE(wait_until(
      [&] {
        whole = curl(daemon, scratch, target);
        return whole.status == 200;
      },
      std::chrono::seconds(10), "the slot to be free again"))
      << whole.status << workspace.log();
  EXPECT_EQ(whole.body.size(), fs::file_size(path));
  workspace.stop_web_daemon(daemon);
}

}  // namespace
}  // namespace deskline::testing
