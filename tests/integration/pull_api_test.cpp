// The pull API (proto/http.md "Pull API") against the real daemon under
// deskline-sim, over TCP: each token's scope, revoking a token while the
// daemon runs, malformed requests, 10,000 calls paged while calls arrive,
// and the change feed across a restart.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "daemon/store/store.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/raw_connection.hpp"

namespace deskline::testing {
namespace {

// Recordings off: a recording's completion is a change of its call, which
// would make the change feed's counts depend on the audio's timing.
constexpr const char* no_recordings = "[recording]\npolicy = \"never\"\n";

struct Answer {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One GET on its own connection; headers is "" or lines ending in \r\n.
Answer get(unsigned short port, const std::string& target, const std::string& headers = "") {
  RawConnection connection;
  if (!connection.connect_tcp(port)) return {};
  const auto data = connection.exchange(
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + "\r\n",
      http_response_complete);
  Answer answer;
  if (data.rfind("HTTP/1.1 ", 0) != 0) return answer;
  answer.status = std::stoi(data.substr(9, 3));
  const auto body = data.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = data.substr(body + 4);
  return answer;
}

std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

// Scenario lines of short identified calls, one every `spacing` s from first_at, on lines 1 and 2.
std::string short_calls(const std::string& box, int count, double first_at, double spacing, int first_number) {
  std::string scenario;
  for (int call = 0; call < count; ++call) {
    const double at = first_at + call * spacing;
    const int port = 1 + call % 2;
    scenario += fmt::format("at {:.2f} {}:{} ring cadence=0.1/0.1 count=1\n", at, box, port);
    scenario += fmt::format("at {:.2f} {}:{} callerid number=1390000{:04d}\n", at + 0.05, box, port, first_number + call);
    scenario += fmt::format("at {:.2f} {}:{} offhook\n", at + 0.15, box, port);
    scenario += fmt::format("at {:.2f} {}:{} onhook\n", at + 0.3, box, port);
  }
  return scenario;
}

bool all_ended(const nlohmann::json& calls, std::size_t count) {
  return calls.is_array() && calls.size() == count &&
         std::all_of(calls.begin(), calls.end(), [](const auto& call) { return call.value("state", "") == "ended"; });
}

TEST(PullApiAuth, EachTokenOpensItsScopeAndARevokedTokenNothing) {
  Workspace workspace("pull-auth", no_recordings);
  const auto crm_token = workspace.add_api_token("crm");
  const auto other_token = workspace.add_api_token("backup");
  ASSERT_TRUE(crm_token.starts_with("dlk_")) << crm_token;
  const auto listed = workspace.cli_json({"tokens", "list", "--json"});
  ASSERT_TRUE(listed.is_array()) << listed.dump();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].value("name", ""), "crm");
  EXPECT_EQ(listed.dump().find(crm_token), std::string::npos);

  const auto daemon = workspace.start_web_daemon("box A serial=X800-PA lines=2\n" + short_calls("A", 1, 1.0, 1.0, 1) + "at 120 end\n");
  ASSERT_GT(daemon.port, 0);
  nlohmann::json calls;
  ASSERT_TRUE(wait_until(
      [&] {
        calls = get(daemon.port, "/v1/calls", bearer(crm_token)).json().value("calls", nlohmann::json());
        return all_ended(calls, 1);
      },
      std::chrono::seconds(30), "the call to be stored and ended"))
      << calls.dump() << workspace.log();
  const std::string call_id = calls[0].value("id", "");
  EXPECT_TRUE(calls[0]["recording_url"].is_null());

  // Refused: none of these answers holds the call.
  struct Case {
    const char* name;
    std::string target;
    std::string headers;
    int status;
  };
  const std::string wrong = "dlk_" + std::string(43, 'Q');
  const Case refusals[] = {
      {"no token", "/v1/calls", "", 401},
      {"no token on a call", "/v1/calls/" + call_id, "", 401},
      {"wrong API token", "/v1/calls/" + call_id, bearer(wrong), 401},
      {"wrong desk token", "/v1/calls?limit=5", bearer(std::string(48, 'f')), 401},
      {"API token in the query", "/v1/calls?token=" + crm_token, "", 401},
      {"API token in the query of a call", "/v1/calls/" + call_id + "?token=" + crm_token, "", 401},
      {"desk token on a call", "/v1/calls/" + call_id, bearer(daemon.token), 403},
      {"desk token in the query on a call", "/v1/calls/" + call_id + "?token=" + daemon.token, "", 403},
      {"desk token on changes", "/v1/changes", bearer(daemon.token), 403},
      {"API token on the pop events", "/v1/events", bearer(crm_token), 403},
      {"malformed id", "/v1/calls/not-a-call", bearer(crm_token), 400},
      {"id with a path after it", "/v1/calls/" + call_id + "/recording", bearer(crm_token), 400},
      {"unknown id", "/v1/calls/00000000-0000-4000-8000-000000000000", bearer(crm_token), 404},
      {"bad cursor", "/v1/calls?cursor=garbage", bearer(crm_token), 400},
      {"cursor with a bad id", "/v1/calls?cursor=1_" + call_id.substr(1), bearer(crm_token), 400},
      {"bad since", "/v1/calls?since=yesterday", bearer(crm_token), 400},
      {"since without offset", "/v1/calls?since=2026-01-01T00:00:00", bearer(crm_token), 400},
      {"bad direction", "/v1/calls?direction=up", bearer(crm_token), 400},
      {"bad outcome", "/v1/calls?outcome=lost", bearer(crm_token), 400},
      {"limit too large", "/v1/calls?limit=1001", bearer(crm_token), 400},
      {"unknown filter", "/v1/calls?numbr=1", bearer(crm_token), 400},
      {"bad changes cursor", "/v1/changes?cursor=-1", bearer(crm_token), 400},
      {"changes cursor ahead", "/v1/changes?cursor=999999", bearer(crm_token), 400},
  };
  for (const auto& test : refusals) {
    SCOPED_TRACE(test.name);
    const auto answer = get(daemon.port, test.target, test.headers);
    EXPECT_EQ(answer.status, test.status) << answer.body;
    EXPECT_TRUE(answer.json().contains("error")) << answer.body;
    EXPECT_EQ(answer.body.find(call_id), std::string::npos) << answer.body;
    EXPECT_EQ(answer.body.find("1390000"), std::string::npos) << answer.body;
  }

  // Served: the desk page keeps its array, the API gets its pages and calls.
  const auto desk = get(daemon.port, "/v1/calls?limit=5", bearer(daemon.token)).json();
  ASSERT_TRUE(desk.is_array()) << desk.dump();
  EXPECT_EQ(desk.size(), 1u);
  const auto desk_by_query = get(daemon.port, "/v1/calls?token=" + daemon.token);
  EXPECT_EQ(desk_by_query.status, 200);
  const auto one = get(daemon.port, "/v1/calls/" + call_id, bearer(crm_token));
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.json().value("id", ""), call_id);
  EXPECT_EQ(one.json().value("number", ""), "13900000001");
  const auto filtered = get(daemon.port, "/v1/calls?number=13900000001&direction=inbound&line=X800-PA%3A1", bearer(other_token));
  EXPECT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_EQ(get(daemon.port, "/v1/calls?number=13900000002", bearer(other_token)).json()["calls"].size(), 0u);

  // Revoked while the daemon runs: refused at once; the other token still works.
  ASSERT_EQ(workspace.revoke_api_token("crm"), 0);
  const auto revoked = get(daemon.port, "/v1/calls/" + call_id, bearer(crm_token));
  EXPECT_EQ(revoked.status, 401) << revoked.body;
  EXPECT_EQ(revoked.body.find(call_id), std::string::npos);
  EXPECT_EQ(get(daemon.port, "/v1/calls/" + call_id, bearer(other_token)).status, 200);
  EXPECT_NE(workspace.revoke_api_token("crm"), 0);  // no longer there
  workspace.stop_web_daemon(daemon);
  // The tokens are never logged; their names are.
  const auto log = workspace.log();
  EXPECT_EQ(log.find(crm_token), std::string::npos);
  EXPECT_EQ(log.find(other_token), std::string::npos);
  EXPECT_EQ(log.find(crm_token.substr(4, 20)), std::string::npos);
}

// 10,000 calls written into the database before the daemon starts.
void insert_bulk_calls(const fs::path& database, int count, std::int64_t first_start_us) {
  fs::create_directories(database.parent_path());
  {
    auto store = daemon::Store::open(database);  // creates and migrates
    ASSERT_TRUE(store) << store.error().message();
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &raw), SQLITE_OK);
  std::string sql = "BEGIN;";
  // Pairs of calls share a start time: ties are broken by id.
  sql += fmt::format(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
      "INSERT INTO calls (id, line, box, port, direction, number, state, outcome, end_reason, started_at, ended_at) "
      "SELECT printf('00000000-0000-4000-8000-%012d', i), 'A:1', 'X800-PA', 1, 'inbound', printf('1380000%04d', i % 10000), "
      "'ended', 'missed', 'ring_timeout', {} + (i / 2) * 1000000, {} + (i / 2) * 1000000 + 5000000 FROM n;",
      count, first_start_us, first_start_us);
  sql += "COMMIT;";
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(raw);
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(PullApiPaging, TenThousandCallsPagedOnceEachWhileCallsArrive) {
  Workspace workspace("pull-paging", no_recordings);
  const int bulk = 10000;
  insert_bulk_calls(workspace.dir() / "data" / "deskline.db", bulk, now_us() - 30LL * 86400 * 1000000);
  const auto token = workspace.add_api_token("crm");
  // New calls every 0.25 s for 20 s while the test pages.
  const auto daemon =
      workspace.start_web_daemon("box A serial=X800-PA lines=2\n" + short_calls("A", 80, 1.0, 0.25, 1) + "at 120 end\n");
  ASSERT_GT(daemon.port, 0);
  const auto sim_calls_stored = [&] {
    const auto page = get(daemon.port, "/v1/calls?number=13900000001", bearer(token)).json();
    return page.contains("calls") && !page["calls"].empty();
  };
  ASSERT_TRUE(wait_until(sim_calls_stored, std::chrono::seconds(30), "the simulator's first call")) << workspace.log();
  auto changes_now = [&] { return get(daemon.port, "/v1/changes?limit=1000&cursor=" + std::to_string(bulk), bearer(token)).json(); };

  std::map<std::string, int> seen;
  std::string next = "/v1/calls?limit=100";
  int pages = 0;
  std::size_t arrivals_during_paging = 0;
  std::size_t previous_arrivals = changes_now().value("changes", nlohmann::json::array()).size();
  const auto started = std::chrono::steady_clock::now();
  while (!next.empty()) {
    const auto answer = get(daemon.port, next, bearer(token));
    ASSERT_EQ(answer.status, 200) << next << ": " << answer.body;
    const auto page = answer.json();
    ASSERT_TRUE(page["calls"].is_array());
    ASSERT_LE(page["calls"].size(), 100u);
    for (const auto& call : page["calls"]) ++seen[call.value("id", "")];
    next = page["next"].is_string() ? page["next"].get<std::string>() : "";
    ++pages;
    // Through the first pages, the next page waits for a new call to be stored.
    if (pages <= 8) {
      ASSERT_TRUE(wait_until(
          [&] {
            const auto arrivals = changes_now().value("changes", nlohmann::json::array()).size();
            if (arrivals <= previous_arrivals) return false;
            arrivals_during_paging += arrivals - previous_arrivals;
            previous_arrivals = arrivals;
            return true;
          },
          std::chrono::seconds(10), "a new call from the simulator"));
    }
  }
  const double walk_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (int n = 1; n <= bulk; ++n) {
    const auto id = fmt::format("00000000-0000-4000-8000-{:012d}", n);
    ASSERT_EQ(seen[id], 1) << id;
  }
  std::size_t new_calls = 0;
  for (const auto& [id, count] : seen) {
    EXPECT_EQ(count, 1) << id;
    new_calls += !id.starts_with("00000000-0000-4000-8000-");
  }
  EXPECT_GT(arrivals_during_paging, 0u);
  EXPECT_GT(new_calls, 0u) << "calls stored while paging come at the end of the walk";
  std::printf("[ measure  ] %d pages of 100 (%zu calls, %zu stored during the walk) in %.2f s\n", pages, seen.size(),
              new_calls, walk_s);

  // A 1,000-call page while the desk page's resources are asked for:
  // the io thread stays free (measured, not asserted).
  std::vector<double> page_ms;
  std::vector<double> desk_ms;
  std::atomic<bool> paging{true};
  std::thread pager([&] {
    for (std::string big = "/v1/calls?limit=1000"; !big.empty();) {
      const auto begin = std::chrono::steady_clock::now();
      const auto page = get(daemon.port, big, bearer(token)).json();
      page_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count());
      big = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
    }
    paging = false;
  });
  while (paging) {
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(get(daemon.port, "/").status, 200);
    desk_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count());
  }
  pager.join();
  std::sort(page_ms.begin(), page_ms.end());
  std::sort(desk_ms.begin(), desk_ms.end());
  if (!page_ms.empty() && !desk_ms.empty())
    std::printf("[ measure  ] %zu pages of 1000: median %.1f ms, max %.1f ms; meanwhile %zu GET / : median %.2f ms, "
                "max %.2f ms\n",
                page_ms.size(), page_ms[page_ms.size() / 2], page_ms.back(), desk_ms.size(),
                desk_ms[desk_ms.size() / 2], desk_ms.back());
  workspace.stop_web_daemon(daemon);
}

TEST(PullApiChanges, ContinueFromTheirCursorAfterARestart) {
  Workspace workspace("pull-changes", no_recordings);
  const auto token = workspace.add_api_token("crm");
  auto daemon = workspace.start_web_daemon("box A serial=X800-PA lines=2\n" + short_calls("A", 3, 1.0, 0.5, 1) + "at 120 end\n");
  ASSERT_GT(daemon.port, 0);
  // Poll as a CRM does: from the cursor, until three ended calls were seen.
  std::map<std::string, nlohmann::json> latest;
  std::string cursor = "0";
  ASSERT_TRUE(wait_until(
      [&] {
        const auto page = get(daemon.port, "/v1/changes?limit=2&cursor=" + cursor, bearer(token)).json();
        if (!page.contains("changes")) return false;
        for (const auto& call : page["changes"]) latest[call.value("id", "")] = call;
        cursor = page.value("cursor", cursor);
        return latest.size() == 3 && std::all_of(latest.begin(), latest.end(), [](const auto& entry) {
                 return entry.second.value("state", "") == "ended";
               });
      },
      std::chrono::seconds(30), "three ended calls in the change feed"))
      << workspace.log();
  EXPECT_EQ(get(daemon.port, "/v1/changes?cursor=" + cursor, bearer(token)).json()["changes"].size(), 0u);
  workspace.stop_web_daemon(daemon);

  daemon = workspace.start_web_daemon("box A serial=X800-PA lines=2\n" + short_calls("A", 2, 1.0, 0.5, 11) + "at 120 end\n");
  ASSERT_GT(daemon.port, 0);
  nlohmann::json page;
  ASSERT_TRUE(wait_until(
      [&] {
        page = get(daemon.port, "/v1/changes?cursor=" + cursor, bearer(token)).json();
        return page.contains("changes") && all_ended(page["changes"], 2);
      },
      std::chrono::seconds(30), "the two new calls, ended, after the cursor"))
      << page.dump() << workspace.log();
  for (const auto& call : page["changes"]) {
    EXPECT_FALSE(latest.contains(call.value("id", ""))) << "repeated: " << call.dump();
    EXPECT_TRUE(call.value("number", "").starts_with("1390000001")) << call.dump();
  }
  EXPECT_FALSE(page.value("more", true));
  const auto after = get(daemon.port, "/v1/changes?cursor=" + page.value("cursor", ""), bearer(token)).json();
  EXPECT_EQ(after["changes"].size(), 0u) << after.dump();
  EXPECT_EQ(after.value("cursor", ""), page.value("cursor", ""));
  workspace.stop_web_daemon(daemon);
}

}  // namespace
}  // namespace deskline::testing
