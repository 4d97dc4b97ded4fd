// Headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe): a test waits for what the page says, not for a
// budget of virtual time. Chromium's virtual time runs on while a media
// element waits for the network, so a slow server (a sanitizer build, a busy
// machine) could end a --virtual-time-budget before the page had done its work.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/bytes.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::testing {

class HeadlessChromium {
 public:
  // Starts Chromium with its profile in profile_dir; its own log goes to
  // log_path. language: the browser's, as a user sets it (navigator.languages,
  // Accept-Language).
  HeadlessChromium(const std::filesystem::path& profile_dir, const std::filesystem::path& log_path,
                   const std::string& language = "en-US") {
    int to_browser[2];
    int from_browser[2];
    if (::pipe2(to_browser, O_CLOEXEC) != 0 || ::pipe2(from_browser, O_CLOEXEC) != 0) return;
    const std::vector<std::string> args = {"chromium",
                                           "--headless",
                                           "--no-sandbox",
                                           "--disable-gpu",
                                           "--no-first-run",
                                           "--disable-background-networking",
                                           "--disable-component-update",
                                           "--disable-sync",
                                           "--autoplay-policy=no-user-gesture-required",
                                           "--user-data-dir=" + profile_dir.string(),
                                           "--lang=" + language,
                                           "--accept-lang=" + language,
                                           "--remote-debugging-pipe",
                                           "about:blank"};
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      // The protocol's pipe is fds 3 (commands in) and 4 (answers out). Both
      // ends go above 4 first, so that neither dup2 overwrites the other.
      const int in = ::fcntl(to_browser[0], F_DUPFD, 10);
      const int out = ::fcntl(from_browser[1], F_DUPFD, 10);
      if (in < 0 || out < 0 || ::dup2(in, 3) < 0 || ::dup2(out, 4) < 0) ::_exit(127);
      if (log >= 0) ::dup2(log, STDERR_FILENO);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    if (log >= 0) ::close(log);
    ::close(to_browser[0]);
    ::close(from_browser[1]);
    commands_ = to_browser[1];
    answers_ = from_browser[0];
  }

  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  ~HeadlessChromium() {
    if (pid_ <= 0) return;
    send("Browser.close", {});
    if (commands_ >= 0) ::close(commands_);
    if (answers_ >= 0) ::close(answers_);
    if (!tools::wait_for(pid_, std::chrono::seconds(20))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Opens url in a new tab of width x height CSS pixels, with script run in
  // every document before the page's own (nullopt: no tab). The tab's session
  // id goes to the other calls.
  std::optional<std::string> open(const std::string& url, int width, int height, const std::string& script = "",
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    const auto target = call("Target.createTarget", {{"url", "about:blank"}});
    if (!target || !target->contains("targetId")) return std::nullopt;
    const auto session = call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}});
    if (!session || !session->contains("sessionId")) return std::nullopt;
    const std::string id = (*session)["sessionId"];
    if (!call("Page.enable", nlohmann::json::object(), id)) return std::nullopt;
    if (!script.empty() && !call("Page.addScriptToEvaluateOnNewDocument", {{"source", script}}, id)) return std::nullopt;
    if (!resize(id, width, height)) return std::nullopt;
    if (!call("Page.navigate", {{"url", url}}, id)) return std::nullopt;
    return id;
  }

  bool resize(const std::string& session, int width, int height) {
    return call("Emulation.setDeviceMetricsOverride",
                {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}}, session)
        .has_value();
  }

  // Whether the page may show notifications: "granted", "denied" or "prompt".
  bool set_notifications(const std::string& origin, const std::string& setting) {
    return call("Browser.setPermission",
                {{"permission", {{"name", "notifications"}}}, {"setting", setting}, {"origin", origin}})
        .has_value();
  }

  // The value of a JavaScript expression in the tab (a promise is awaited);
  // nullopt when it threw or no answer came.
  std::optional<nlohmann::json> evaluate(const std::string& session, const std::string& expression,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    const auto answer =
        call("Runtime.evaluate", {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}}, session);
    if (!answer || answer->contains("exceptionDetails") || !answer->contains("result")) return std::nullopt;
    return (*answer)["result"].value("value", nlohmann::json());
  }

  // Waits until the expression is true in the tab (it is asked every 20 ms
  // in the page, and again after a navigation).
  bool wait_until_true(const std::string& session, const std::string& expression, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    const auto poll = "new Promise(resolve => { const poll = () => { let ok = false; try { ok = !!(" + expression +
                      "); } catch (e) {} ok ? resolve(true) : setTimeout(poll, 20); }; poll(); })";
    while (std::chrono::steady_clock::now() < until) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (evaluate(session, poll, left) == nlohmann::json(true)) return true;
    }
    return false;
  }

  // A PNG of the tab's viewport; empty when it failed.
  std::string screenshot(const std::string& session) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const auto shot = call("Page.captureScreenshot", {{"format", "png"}}, session);
    if (!shot || !shot->contains("data")) return "";
    const auto bytes = proto::from_base64((*shot)["data"].get<std::string>());
    return bytes ? std::string(bytes->begin(), bytes->end()) : "";
  }

  // Opens url in a new tab and returns document.title once it matches
  // title_pattern (a JavaScript regular expression), or nullopt at the timeout.
  std::optional<std::string> title_once(const std::string& url, const std::string& title_pattern,
                                        std::chrono::milliseconds timeout) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    const auto target = call("Target.createTarget", {{"url", url}});
    if (!target || !target->contains("targetId")) return std::nullopt;
    const auto session = call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}});
    if (!session || !session->contains("sessionId")) return std::nullopt;
    const std::string session_id = (*session)["sessionId"];
    // The promise settles once the title matches. Until the page is the one
    // asked for (the tab starts on about:blank), an evaluation may fail as
    // the document it ran in goes away: it is asked again.
    const auto expression = "new Promise(resolve => { const pattern = new RegExp(" +
                            nlohmann::json(title_pattern).dump() +
                            "); const poll = () => location.href === " + nlohmann::json(url).dump() +
                            " && pattern.test(document.title) ? resolve(document.title) : setTimeout(poll, 20); "
                            "poll(); })";
    while (std::chrono::steady_clock::now() < deadline_) {
      const auto answer =
          call("Runtime.evaluate", {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}},
               session_id);
      if (!answer) return std::nullopt;
      const auto value = answer->value(nlohmann::json::json_pointer("/result/value"), nlohmann::json());
      if (value.is_string()) return value.get<std::string>();
    }
    return std::nullopt;
  }

 private:
  int send(const std::string& method, const nlohmann::json& params, const std::string& session_id = {}) {
    nlohmann::json command = {{"id", ++last_id_}, {"method", method}, {"params", params}};
    if (!session_id.empty()) command["sessionId"] = session_id;
    auto bytes = command.dump();
    bytes.push_back('\0');
    for (std::size_t sent = 0; sent < bytes.size();) {
      const auto n = ::write(commands_, bytes.data() + sent, bytes.size() - sent);
      if (n <= 0) return -1;
      sent += static_cast<std::size_t>(n);
    }
    return last_id_;
  }

  // Sends a command and returns its answer's result (an error answer is an
  // empty object), or nullopt if no answer came before the deadline.
  std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params,
                                     const std::string& session_id = {}) {
    const int id = send(method, params, session_id);
    if (id < 0) return std::nullopt;
    while (true) {
      for (auto end = received_.find('\0'); end != std::string::npos; end = received_.find('\0')) {
        auto message = nlohmann::json::parse(received_.substr(0, end), nullptr, false);
        received_.erase(0, end + 1);
        if (message.is_object() && message.value("id", -1) == id)
          return message.contains("result") ? message["result"] : nlohmann::json::object();
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd readable{answers_, POLLIN, 0};
      if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      const auto n = ::read(answers_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      received_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int commands_ = -1;
  int answers_ = -1;
  int last_id_ = 0;
  std::string received_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
};

}  // namespace deskline::testing
