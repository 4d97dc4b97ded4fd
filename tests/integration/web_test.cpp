// The built-in pop page in a real browser (headless Chromium from Debian),
// and the WebSocket's token and Origin checks against raw clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <utility>

#include "tests/integration/chromium.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/web_client.hpp"

namespace deskline::testing {
namespace {

constexpr const char* long_ring = R"(
box A serial=X800-WEB lines=2
at 0.5 A:1 ring cadence=1.0/4.0 count=120
at 0.7 A:1 callerid number=13812345678 name="ZHANG WEI"
)";  // rings for 10 minutes: the test stops it once the browser is done

std::vector<std::string> chromium(const std::string& url, const fs::path& profile) {
  return {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--user-data-dir=" + profile.string(), "--virtual-time-budget=3000", "--window-size=1000,600", url};
}

TEST(WebPage, BrowserShowsThePopCardOfARingingCall) {
  Workspace workspace("web-page");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(long_ring));
  ASSERT_GT(simulator, 0);
  const auto url = web_page(workspace);
  ASSERT_FALSE(url.empty()) << workspace.log();
  // The line is ringing, the caller identified.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();  // {"exit_status", ...} until the daemon answers
        const auto* call = calls.is_array() ? find_call_by_number(calls, "13812345678") : nullptr;
        return call && call->value("state", "") == "active" && call->value("name", "") == "ZHANG WEI";
      },
      std::chrono::seconds(30), "the ringing call to be identified"))
      << workspace.log();

  auto dump = chromium(url, workspace.dir() / "chromium");
  dump.insert(dump.end() - 1, "--dump-dom");
  std::string dom;
  ASSERT_EQ(tools::run_capture(dump, dom), 0);
  EXPECT_NE(dom.find(R"(class="who">ZHANG WEI<)"), std::string::npos) << dom;
  EXPECT_NE(dom.find("X800-WEB:1"), std::string::npos);

  const auto artefacts = fs::path(DESKLINE_BIN_DIR).parent_path() / "test-artefacts";
  fs::create_directories(artefacts);
  auto shot = chromium(url, workspace.dir() / "chromium");
  shot.insert(shot.end() - 1, "--screenshot=" + (artefacts / "pop-page.png").string());
  std::string ignored;
  EXPECT_EQ(tools::run_capture(shot, ignored), 0);
  EXPECT_GT(fs::file_size(artefacts / "pop-page.png"), 1000u);
  workspace.stop_simulator(simulator);
}

TEST(WebPage, WebSocketRefusesWrongTokenAndForeignOrigin) {
  Workspace workspace("web-auth");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario("box A serial=X800-AUTH lines=1\nat 600 end\n"));
  ASSERT_GT(simulator, 0);
  const auto url = web_page(workspace);
  std::smatch parts;
  ASSERT_TRUE(std::regex_search(url, parts, std::regex(R"(:(\d+)/\?token=([0-9a-f]+))"))) << url;
  const auto port = static_cast<unsigned short>(std::stoi(parts[1]));
  const std::string token = parts[2];
  const std::string own_origin = "http://127.0.0.1:" + std::string(parts[1]);

  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, own_origin), 101);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, ""), 101);  // non-browser clients send no Origin
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=wrong" + token.substr(5), own_origin), 401);
  EXPECT_EQ(upgrade_status(port, "/v1/events", own_origin), 401);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, "https://evil.example"), 403);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, "http://127.0.0.1:1"), 403);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=%zz" + token, own_origin), 400);  // bad percent-escape

  // Plain HTTP on the same listener: the calls API and its refusals.
  const auto calls = http_exchange(port, "GET /v1/calls?limit=5 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                        token + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(calls.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(calls.body, nullptr, false).is_array()) << calls.body;
  EXPECT_EQ(get_status(port, "/v1/calls?limit=2&token=" + token), 200);
  for (const char* limit : {"abc", "0", "-1", "1001", "5x"})
    EXPECT_EQ(get_status(port, "/v1/calls?token=" + token + "&limit=" + limit), 400) << limit;
  EXPECT_EQ(get_status(port, "/v1/calls"), 401);
  EXPECT_EQ(get_status(port, "/v1/nothing?token=" + token), 404);
  EXPECT_EQ(get_status(port, "/nothing"), 404);
  EXPECT_EQ(get_status(port, "/v1/calls?token=" + token, "DELETE"), 405);
  EXPECT_EQ(get_status(port, "no-slash"), 400);
  EXPECT_EQ(http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n").status, 400);
  workspace.stop_simulator(simulator);
  EXPECT_NE(workspace.log().find("origin https://evil.example not allowed"), std::string::npos);
}

// The page's address, as its port and token.
TEST(WebPage, WebSocketHelloAndResumeAcrossADaemonKill) {
  // No recordings: no recording.saved that could come live while a client resumes.
  Workspace workspace("web-resume", "[recording]\npolicy = \"never\"\n");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-WSR lines=1
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13800000011
at 1.3 A:1 offhook
at 1.6 A:1 onhook
at 3.0 restart signal=kill
at 8.0 A:1 ring cadence=0.5/0.5 count=1
at 8.1 A:1 callerid number=13800000012
at 8.3 A:1 offhook
at 8.6 A:1 onhook
at 600 end
)"));
  ASSERT_GT(simulator, 0);
  auto calls_ended = [&](std::size_t count) {
    return wait_until(
        [&] {
          const auto calls = workspace.calls();
          return calls.is_array() && calls.size() == count &&
                 std::all_of(calls.begin(), calls.end(), [](const auto& call) { return call["state"] == "ended"; });
        },
        std::chrono::seconds(30), std::to_string(count) + " calls to end");
  };
  ASSERT_TRUE(calls_ended(1)) << workspace.log();
  const auto [port, token] = port_and_token(web_page(workspace));
  WebSocketEvents before(port, token);
  ASSERT_TRUE(before.upgraded());
  const auto hello = before.next().value_or(nlohmann::json())["hello"];
  ASSERT_TRUE(hello.is_object()) << workspace.log();
  const auto stream = hello["stream"].get<std::string>();
  const auto seen = hello["last_seq"].get<std::uint64_t>();
  ASSERT_GE(seen, 3u);

  // The killed daemon's successor (on another port) and its call.
  ASSERT_TRUE(calls_ended(2)) << workspace.log();
  const auto [new_port, new_token] = port_and_token(web_page(workspace));
  WebSocketEvents after(new_port, new_token);
  ASSERT_TRUE(after.upgraded());
  after.send({{"resume_from", seen - 2}, {"stream", stream}});  // the old daemon's last two, then the new one's
  const auto new_hello = after.next().value_or(nlohmann::json())["hello"];
  ASSERT_TRUE(new_hello.is_object());
  EXPECT_EQ(new_hello["stream"], stream);
  const auto newest = new_hello["last_seq"].get<std::uint64_t>();
  ASSERT_GT(newest, seen);
  // The old daemon's last two in order; the new one's after the seqs the
  // killed daemon had reserved (proto/pop.md), in order up to its newest.
  std::vector<std::string> names;
  for (std::uint64_t seq = seen - 1, last = 0; last < newest; ++seq) {
    const auto event = after.next();
    ASSERT_TRUE(event && event->contains("seq")) << "waiting for seq " << seq << "\n" << workspace.log();
    last = (*event)["seq"].get<std::uint64_t>();
    if (seq <= seen) ASSERT_EQ(last, seq) << event->dump();
    else ASSERT_GE(last, seq) << event->dump();
    seq = last;
    names.push_back((*event)["event"]);
  }
  EXPECT_EQ(names[1], "call.ended") << "the old daemon's last event";
  EXPECT_EQ(std::count(names.begin(), names.end(), "device.attached"), 1) << "the new daemon's";
  EXPECT_EQ(std::count(names.begin(), names.end(), "call.ringing"), 1);

  // A seq of another stream is not resumed: the next answer is the error of the request after it.
  WebSocketEvents foreign(new_port, new_token);
  ASSERT_TRUE(foreign.upgraded());
  foreign.send({{"resume_from", 0}, {"stream", "another-database"}});
  foreign.send({{"lines", "not a list"}});
  EXPECT_TRUE(foreign.next().value_or(nlohmann::json()).contains("hello"));
  const auto answer = foreign.next().value_or(nlohmann::json());
  EXPECT_TRUE(answer.contains("error")) << answer.dump();
  workspace.stop_simulator(simulator);
}

// Watches the page's alerts through the browser's own objects: every
// Notification made (and the object, to click it), each oscillator started
// and stopped, and each address the page opens.
// A running daemon's page in a headless Chromium whose profile and log are in
// the workspace, with the origin and admin token the daemon prints.
class BrowserOnThePage {
 public:
  explicit BrowserOnThePage(const Workspace& workspace, const std::string& language = "en-US")
      : chromium(folder_in(workspace) / "profile", folder_in(workspace) / "chromium.log", language) {
    const auto [port, token] = port_and_token(web_page(workspace));
    if (port > 0) origin = "http://127.0.0.1:" + std::to_string(port);
    admin_token = token;
  }

  std::optional<std::string> open(const std::string& token, int width, int height, const std::string& script = "") {
    return chromium.open(origin + "/?token=" + token, width, height, script);
  }
  // wait_until_true as a test assertion: on a timeout it names what it waited
  // for and shows what `describe` (a page expression) gives then.
  ::testing::AssertionResult wait(const std::string& session, const std::string& expression, const char* what,
                                  std::chrono::seconds timeout, const std::string& describe) {
    if (chromium.wait_until_true(session, expression, timeout)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "timed out after " << timeout.count() << " s waiting for " << what
                                         << "; the page: "
                                         << chromium.evaluate(session, describe).value_or(nlohmann::json()).dump();
  }

  std::string origin;  // empty when the daemon printed no page
  std::string admin_token;
  HeadlessChromium chromium;

 private:
  static fs::path folder_in(const Workspace& workspace) {
    const auto folder = workspace.dir() / "chromium";
    fs::create_directories(folder);
    return folder;
  }
};

constexpr const char* alert_probe = R"(
window.__alerts = { notifications: [], shown: [], oscillators: [], opened: [] };
const RealNotification = window.Notification;
if (RealNotification) {
  window.Notification = class extends RealNotification {
    constructor(title, options) {
      window.__alerts.notifications.push({ title, body: (options || {}).body || "" });
      super(title, options);
      window.__alerts.shown.push(this);
    }
  };
  Object.defineProperty(window.Notification, "permission", { get: () => RealNotification.permission });
  window.Notification.requestPermission = (...args) => RealNotification.requestPermission(...args);
}
const realStart = OscillatorNode.prototype.start, realStop = OscillatorNode.prototype.stop;
OscillatorNode.prototype.start = function (...args) { window.__alerts.oscillators.push("start"); return realStart.apply(this, args); };
OscillatorNode.prototype.stop = function (...args) { window.__alerts.oscillators.push("stop"); return realStop.apply(this, args); };
window.open = (url) => { window.__alerts.opened.push(url); return null; };
)";

// Two desks ring at once; each desk's page alerts for its own line only: a
// desktop notification naming the customer, the ring (an oscillator started,
// stopped at the answer) and the tab's title. A page whose notifications are
// blocked says so. The history then lists the calls with names and
// durations, newest first, at 1280 and 390 px without anything cut off. A
// click on the notification opens the customer's page in the CRM.
TEST(WebPage, ADeskPageAlertsForItsOwnLineOnly) {
  Workspace workspace("web-alerts", two_desks_config("X800-ALR"));
  const auto imported = workspace.import_customers("id,name,company,url,phone\n"
                                                   "c-1,Zhang Wei,Acme Trading,https://crm.example/c/1,13812345678\n"
                                                   "c-2,Li Lei,Bright Foods,,02161234567\n");
  ASSERT_FALSE(imported.contains("exit_status")) << imported.dump();
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-ALR lines=2
at 0.5 A:2 ring cadence=1.0/2.0 count=2
at 0.6 A:2 callerid number=13900001111
at 0.7 A:2 offhook
at 3.7 A:2 onhook
at 4.0 A:1 ring cadence=1.0/2.0 count=4
at 4.1 A:1 callerid number=13812345678
at 4.0 A:2 ring cadence=1.0/2.0 count=3
at 4.1 A:2 callerid number=02161234567
at 16.0 A:1 offhook
at 18.5 A:1 onhook
at 600 end
)"));
  ASSERT_GT(simulator, 0);
  BrowserOnThePage browser(workspace);
  ASSERT_FALSE(browser.origin.empty());
  auto& chromium = browser.chromium;
  ASSERT_TRUE(chromium.set_notifications(browser.origin, "granted"));
  const auto front = browser.open(front_desk_token, 1280, 800, alert_probe);
  ASSERT_TRUE(front);

  // The notification names the customer; none is about line 2.
  const auto wait = [&](const std::string& session, const std::string& expression, const char* what) {
    return browser.wait(session, expression, what, std::chrono::seconds(60),
                        "JSON.stringify({title: document.title, alerts: window.__alerts, page: document.body.innerText})");
  };
  ASSERT_TRUE(wait(*front, "__alerts.notifications.some(n => n.title.startsWith('Zhang Wei (Sales 1)'))",
                   "a notification naming Zhang Wei"));
  const auto notifications = chromium.evaluate(*front, "__alerts.notifications").value_or(nlohmann::json());
  for (const auto& notification : notifications) {
    EXPECT_NE(notification["title"].get<std::string>().find("(Sales 1)"), std::string::npos) << notification.dump();
    EXPECT_EQ(notification["title"].get<std::string>().find("Li Lei"), std::string::npos) << notification.dump();
  }
  const auto body = notifications.back()["body"].get<std::string>();
  EXPECT_NE(body.find("Acme Trading"), std::string::npos) << body;
  EXPECT_NE(body.find("138 1234 5678"), std::string::npos) << body;
  // A click on the notification opens the customer in the CRM.
  EXPECT_EQ(chromium.evaluate(*front, "__alerts.shown.at(-1).onclick(); __alerts.opened"),
            nlohmann::json::array({"https://crm.example/c/1"}));
  EXPECT_TRUE(wait(*front, "document.title.startsWith('☎ Zhang Wei')", "the title to name the caller"));
  EXPECT_TRUE(wait(*front, "__alerts.oscillators[0] === 'start'", "the ring to start"));
  // Answered at 16 s: the ring stops and the title comes back.
  EXPECT_TRUE(wait(*front, "__alerts.oscillators.includes('stop') && document.title === 'Deskline'",
                   "the ring to stop at the answer"));

  // A desk whose notifications are blocked is told, and still gets the page.
  ASSERT_TRUE(chromium.set_notifications(browser.origin, "denied"));
  const auto back = browser.open(back_desk_token, 1280, 800, alert_probe);
  ASSERT_TRUE(back);
  EXPECT_TRUE(wait(*back, "!document.getElementById('note').hidden && "
                          "document.getElementById('note').textContent.includes('blocked')",
                   "the blocked-notifications note"));
  EXPECT_EQ(chromium.evaluate(*back, "__alerts.notifications.length"), nlohmann::json(0));

  // Every message in both catalogues.
  EXPECT_EQ(chromium.evaluate(*front, "const c = deskline.catalogue; JSON.stringify(["
                                      "Object.keys(c.en).filter(k => !(k in c['zh-CN'])), "
                                      "Object.keys(c['zh-CN']).filter(k => !(k in c.en))])"),
            nlohmann::json("[[],[]]"));

  // The history once the calls have ended: line 1's answered call on top,
  // with its customer and duration; the Back desk's page has line 2's two.
  ASSERT_TRUE(wait(*front, "document.querySelectorAll('#history tr[data-call-id]').length === 1 && "
                           "!document.querySelector('#active article')",
                   "the front desk's call in its history"));
  const auto front_row = chromium.evaluate(*front, "document.querySelector('#history tr').innerText").value_or("");
  EXPECT_NE(front_row.get<std::string>().find("Zhang Wei"), std::string::npos) << front_row;
  EXPECT_NE(front_row.get<std::string>().find("2.5 s"), std::string::npos) << front_row;
  ASSERT_TRUE(wait(*back, "document.querySelectorAll('#history tr[data-call-id]').length === 2",
                   "the back desk's two calls in its history"));
  const auto back_rows = chromium.evaluate(*back, "[...document.querySelectorAll('#history tr')].map(r => r.innerText)")
                             .value_or(nlohmann::json());
  ASSERT_EQ(back_rows.size(), 2u) << back_rows;
  EXPECT_NE(back_rows[0].get<std::string>().find("Li Lei"), std::string::npos) << "newest first: " << back_rows;
  EXPECT_NE(back_rows[0].get<std::string>().find("missed"), std::string::npos) << back_rows;
  EXPECT_NE(back_rows[0].get<std::string>().find("Call back"), std::string::npos) << back_rows;
  EXPECT_NE(back_rows[1].get<std::string>().find("3 s"), std::string::npos) << back_rows;
  EXPECT_EQ(chromium.evaluate(*back, "document.getElementById('missed').textContent"), nlohmann::json("· 1 missed"));

  // Nothing is cut off from 1280 px down to a phone's 390.
  const auto artefacts = fs::path(DESKLINE_BIN_DIR).parent_path() / "test-artefacts";
  fs::create_directories(artefacts);
  for (const int width : {1280, 390}) {
    ASSERT_TRUE(chromium.resize(*back, width, 800));
    EXPECT_TRUE(wait(*back, "document.documentElement.scrollWidth <= " + std::to_string(width),
                     "the page to fit its width"));
    const auto png = chromium.screenshot(*back);
    EXPECT_GT(png.size(), 1000u);
    std::ofstream(artefacts / ("desk-page-" + std::to_string(width) + ".png"), std::ios::binary) << png;
  }
  workspace.stop_simulator(simulator);
}

// Watches the cards of calls being dialled: each text their who-line shows,
// in order, and whether "Unknown caller" ever appears among the calls.
constexpr const char* dialling_probe = R"(
window.__dial = { whos: [], unknown: false };
window.__card = (line) => {
  const card = [...document.querySelectorAll('#active article')].find(c => c.querySelector('.top').textContent.startsWith(line));
  if (!card) return null;
  return { kind: card.className, who: card.querySelector('.who').textContent, state: card.querySelector('.state').textContent,
           top: card.querySelector('.top').textContent, timer: card.querySelector('.timer').textContent };
};
new MutationObserver(() => {
  const main = document.querySelector('main');
  if (!main) return;
  if (main.textContent.includes('Unknown caller')) window.__dial.unknown = true;
  for (const who of main.querySelectorAll('.card.dialling .who'))
    if (window.__dial.whos.at(-1) !== who.textContent) window.__dial.whos.push(who.textContent);
}).observe(document, { childList: true, subtree: true, characterData: true });
)";

// An outbound call's card while the desk dials: the digits so far as its
// who-line under the "Dialling" label, the line and its user, a running
// timer, never "Unknown caller"; the formatted number once it is complete,
// and "In call" at the far end's answer. A ringing call beside it reads
// "Ringing".
TEST(WebPage, ADiallingCardShowsTheDigitsSoFar) {
  Workspace workspace("web-dialling", two_desks_config("X800-DIAL"));
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-DIAL lines=2
at 3.0 A:2 callerid number=13812345678 name="ZHANG WEI"
at 3.1 A:2 ring cadence=1.0/2.0 count=8
at 4.0 A:1 offhook
at 5.0 A:1 dial digits=13900001111 via=report tone_ms=80 gap_ms=900
at 17.0 A:1 polarity reversed=yes
at 24.0 A:1 onhook
at 600 end
)"));  // one digit about every second from 5 s to 14.8 s; answered at 17 s
  ASSERT_GT(simulator, 0);
  BrowserOnThePage browser(workspace);
  ASSERT_FALSE(browser.origin.empty());
  auto& chromium = browser.chromium;
  const auto page = browser.open(browser.admin_token, 1280, 800, dialling_probe);
  ASSERT_TRUE(page);
  const auto wait = [&](const std::string& expression, const char* what) {
    return browser.wait(*page, expression, what, std::chrono::seconds(40),
                        "JSON.stringify({dial: window.__dial, page: document.body.innerText})");
  };

  // Some digits but not all (four at least, for the screenshot): the card as it was at that moment.
  ASSERT_TRUE(wait("(() => { const c = __card('Sales 1'); const digits = c ? c.who.replace(/ /g, '') : ''; "
                   "if (digits.length < 4 || digits.length >= 11 || !'13900001111'.startsWith(digits)) return false; "
                   "window.__partial = c; return true; })()",
                   "the dialling card to show some of the digits"));
  const auto partial = chromium.evaluate(*page, "__partial").value_or(nlohmann::json());
  ASSERT_TRUE(partial.is_object()) << partial;
  EXPECT_EQ(partial["state"], "Dialling") << partial;
  EXPECT_NE(partial["kind"].get<std::string>().find("dialling"), std::string::npos) << partial;
  EXPECT_NE(partial["top"].get<std::string>().find("Sales 1 · Li Na"), std::string::npos) << partial;
  EXPECT_FALSE(partial["timer"].get<std::string>().empty()) << partial;
  const auto artefacts = fs::path(DESKLINE_BIN_DIR).parent_path() / "test-artefacts";
  fs::create_directories(artefacts);
  std::ofstream(artefacts / "dialling-card.png", std::ios::binary) << chromium.screenshot(*page);
  // The inbound call beside it rings, named by its caller ID.
  EXPECT_TRUE(wait("__card('Sales 2') && __card('Sales 2').state === 'Ringing' && __card('Sales 2').who === 'ZHANG WEI'",
                   "the ringing card of Sales 2"));

  // The far end answers: the complete number, formatted, and "In call".
  ASSERT_TRUE(wait("__card('Sales 1') && __card('Sales 1').state === 'In call'", "the outbound call to be in call"));
  EXPECT_EQ(chromium.evaluate(*page, "__card('Sales 1').who"), nlohmann::json("139 0000 1111"));
  // What the dialling card read, in order: perhaps "Dialling" before the
  // first digit, then ever more of the digits, perhaps the formatted number.
  const auto whos = chromium.evaluate(*page, "__dial.whos").value_or(nlohmann::json());
  ASSERT_TRUE(whos.is_array() && !whos.empty()) << whos;
  std::string before;
  std::size_t with_digits = 0;
  for (const auto& who : whos) {
    const auto text = who.get<std::string>();
    if (text == "Dialling" && before.empty() && with_digits == 0) continue;
    if (text == "139 0000 1111" && &who == &whos.back()) continue;
    EXPECT_TRUE(text.size() > before.size() && text.starts_with(before) && std::string("13900001111").starts_with(text))
        << "after \"" << before << "\": " << whos;
    before = text;
    ++with_digits;
  }
  EXPECT_GE(with_digits, 2u) << whos;
  EXPECT_EQ(chromium.evaluate(*page, "__dial.unknown"), nlohmann::json(false)) << whos;

  // Hung up: the card goes, and the page never said "Unknown caller" of it.
  EXPECT_TRUE(wait("!__card('Sales 1')", "the outbound call to end"));
  EXPECT_EQ(chromium.evaluate(*page, "__dial.unknown"), nlohmann::json(false));
  workspace.stop_simulator(simulator);
}

// A browser set to Chinese gets the page in Chinese: the ringing card, the
// history and its missed call, at a phone's width too.
TEST(WebPage, AChineseBrowserGetsTheChinesePage) {
  Workspace workspace("web-chinese", two_desks_config("X800-ZH"));
  ASSERT_FALSE(workspace.import_customers("id,name,company,phone\nc-1,张伟,顺达贸易,13812345678\n")
                   .contains("exit_status"));
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-ZH lines=2
at 1.0 A:1 ring cadence=1.0/2.0 count=3
at 1.1 A:1 callerid number=13812345678
at 600 end
)"));
  ASSERT_GT(simulator, 0);
  BrowserOnThePage browser(workspace, "zh-CN");
  ASSERT_FALSE(browser.origin.empty());
  auto& chromium = browser.chromium;
  const auto page = browser.open(front_desk_token, 390, 800);
  ASSERT_TRUE(page);
  const auto wait = [&](const std::string& expression, const char* what) {
    return browser.wait(*page, expression, what, std::chrono::seconds(60), "document.body.innerText");
  };
  EXPECT_TRUE(wait("document.documentElement.lang === 'zh-CN'", "the page to take the browser's language"));
  EXPECT_TRUE(wait("document.querySelector('#active article') && "
                   "document.querySelector('#active article').innerText.includes('振铃中') && "
                   "document.querySelector('#active article').innerText.includes('张伟')",
                   "the ringing card in Chinese"));
  // Missed (no answer): the history says so in Chinese, with a call back.
  ASSERT_TRUE(wait("document.querySelectorAll('#history tr[data-call-id]').length === 1", "the missed call"));
  const auto row = chromium.evaluate(*page, "document.querySelector('#history tr').innerText").value_or("");
  for (const char* text : {"张伟", "未接", "回拨", "来电"})
    EXPECT_NE(row.get<std::string>().find(text), std::string::npos) << text << " in " << row;
  EXPECT_TRUE(wait("document.getElementById('missed').textContent === '· 未接 1 个'", "the count of missed calls"));
  EXPECT_TRUE(wait("document.documentElement.scrollWidth <= 390", "the page to fit 390 px"));
  const auto artefacts = fs::path(DESKLINE_BIN_DIR).parent_path() / "test-artefacts";
  fs::create_directories(artefacts);
  std::ofstream(artefacts / "desk-page-zh-390.png", std::ios::binary) << chromium.screenshot(*page);
  workspace.stop_simulator(simulator);
}

}  // namespace
}  // namespace deskline::testing
