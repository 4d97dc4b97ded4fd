// `deskline pop`: follows the daemon's pop events (proto/pop.md) and shows
// them, as text, JSON, desktop notifications or a command per event. When
// the daemon restarts or drops the connection, it reconnects and resumes
// from the last seq it saw in the same stream, so no pop is missed; in
// another stream (another database) it starts over.
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proto/pop.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/subprocess.hpp"
#include "tools/cli/tables.hpp"

namespace deskline::tools {
namespace {

struct PopOptions {
  bool json = false;
  bool notify = false;
  std::string exec;
  std::vector<std::string> lines;
  std::string desk;
  int count = 0;  // stop after this many events (0: never)
  bool once = false;  // do not reconnect
  std::string socket;  // events.sock; empty: the config's
};

int connect_unix(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof address.sun_path) return -1;
  std::strcpy(address.sun_path, path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

// Who is on the other end. A call the desk dials out has no caller: until
// its number is complete it is being dialled.
std::string customer_text(const proto::pop::Event& event) {
  if (event.customers.empty() && event.name.empty() && event.direction == "outbound")
    return event.number.empty() ? tr("dialling") : tr("no matching customer");
  if (event.customers.empty()) return event.name.empty() ? tr("unknown caller") : event.name;
  const auto& first = event.customers.front();
  // TRANSLATORS: a customer's name and company.
  auto text = first.company.empty() ? first.name : trf("{} ({})", first.name, first.company);
  // TRANSLATORS: the first customer the number matches, and how many others it matches too.
  if (event.customers.size() > 1) text = trf("{} +{} more", text, event.customers.size() - 1);
  return text;
}

std::string human_line(const proto::pop::Event& event) {
  const auto time = event.at.size() >= 19 ? event.at.substr(11, 8) : event.at;
  if (event.call_id.empty())
    return fmt::format("{} {} {}", time, word_text(event.event), event.box);
  const auto number = number_text(event.number_display, event.privacy.value_or(""));
  auto text = fmt::format("{} {:<10} {:<16} {:<16} {}", time, event.line, word_text(event.event), number,
                          customer_text(event));
  if (event.outcome)
    text += fmt::format("  [{}{}]", word_text(*event.outcome),
                        event.duration_s ? ", " + duration_text(*event.duration_s) : "");
  return text;
}

// Shows one desktop notification; returns why it failed, "" when it was shown.
std::string notify(const proto::pop::Event& event, bool quiet) {
  // TRANSLATORS: the title of a desktop notification: the line, and the caller's number where there is one.
  const auto title = event.number_display.empty() ? trf("{}: incoming call", event.line)
                                                  : trf("{}: {}", event.line, event.number_display);
  SpawnOptions options;
  if (quiet) options.stderr_path = "/dev/null";  // notify-send's complaint was shown once already
  const pid_t pid = spawn({"notify-send", "--app-name=Deskline", title, customer_text(event)}, options);
  if (pid < 0) return trf("cannot run notify-send: {} (package libnotify-bin).", std::strerror(errno));
  const auto status = wait_for(pid, std::chrono::seconds(5));
  if (!status) {
    ::kill(pid, SIGKILL);  // a hung notify-send must not hold up the pops
    wait_for(pid, std::chrono::seconds(1));
    return tr("notify-send did not finish within 5 s.");
  }
  if (*status == 0) return "";
  return trf("notify-send failed (exit status {}); is a notification server running on the session D-Bus?", *status);
}

void run_for_event(const PopOptions& options, const proto::pop::Event& event, bool& notify_failed) {
  // A pop is about a call that comes in; the desk knows whom it dials.
  const bool is_pop =
      (event.event == "call.ringing" || event.event == "call.identified") && event.direction != "outbound";
  if (options.notify && is_pop) {
    const auto failure = notify(event, notify_failed);
    if (!failure.empty() && !notify_failed) {
      // Once, not per call: a desk without a notification server still gets its pops printed.
      std::cerr << "deskline pop: "
                // TRANSLATORS: {} is why notify-send failed, a sentence.
                << trf("{} Pops are still printed; further notification failures are not reported.", failure) << "\n";
      notify_failed = true;
    }
  }
  if (!options.exec.empty()) {
    const auto& customer = event.customers.empty() ? proto::pop::Customer{} : event.customers.front();
    SpawnOptions spawn_options;
    spawn_options.environment = {
        "DESKLINE_EVENT=" + event.event,           "DESKLINE_SEQ=" + std::to_string(event.seq),
        "DESKLINE_AT=" + event.at,                 "DESKLINE_CALL_ID=" + event.call_id,
        "DESKLINE_LINE=" + event.line,             "DESKLINE_DIRECTION=" + event.direction,
        "DESKLINE_NUMBER=" + event.number,         "DESKLINE_NUMBER_DISPLAY=" + event.number_display,
        "DESKLINE_PRIVACY=" + event.privacy.value_or(""), "DESKLINE_CALLER_NAME=" + event.name,
        "DESKLINE_CUSTOMER_ID=" + customer.id,     "DESKLINE_CUSTOMER_NAME=" + customer.name,
        "DESKLINE_CUSTOMER_COMPANY=" + customer.company, "DESKLINE_CUSTOMER_URL=" + customer.url,
        "DESKLINE_CUSTOMER_COUNT=" + std::to_string(event.customers.size()),
        "DESKLINE_OUTCOME=" + event.outcome.value_or(""),
    };
    const pid_t pid = spawn({"/bin/sh", "-c", options.exec}, spawn_options);
    if (pid > 0) wait_for(pid, std::chrono::minutes(1));
  }
}

// Where this client is in the daemon's event stream, kept across reconnects.
struct StreamPosition {
  std::string stream;  // "" until the first hello
  std::uint64_t last_seq = 0;
};

// What to show on one connection, decided by its hello.
class ConnectionFilter {
 public:
  explicit ConnectionFilter(StreamPosition& position) : position_(position), floor_(position.last_seq) {}

  // Resume in the same stream if it still has every event we saw (the
  // request asked for the rest); otherwise start over at its present.
  void hello(const proto::pop::Hello& hello) {
    resuming_ = hello.stream == position_.stream && hello.last_seq >= position_.last_seq;
    if (!resuming_) position_ = {hello.stream, hello.last_seq};
    floor_ = position_.last_seq;
  }

  // Whether to show the event; remembers its seq.
  bool admit(const proto::pop::Event& event) {
    // A resume's history carries every event of the calls in progress.
    if (event.replay ? resuming_ : event.seq <= floor_) return false;
    position_.last_seq = std::max(position_.last_seq, event.seq);
    return true;
  }

 private:
  StreamPosition& position_;
  std::uint64_t floor_;  // events up to this seq were shown before this connection
  bool resuming_ = false;
};

int follow(const std::filesystem::path& socket_path, const PopOptions& options) {
  StreamPosition position;
  int shown = 0;
  bool warned = false;
  bool notify_failed = false;
  while (true) {
    const int fd = connect_unix(socket_path);
    if (fd < 0) {
      if (errno == EACCES) {  // waiting would not help
        std::cerr << "deskline pop: "
                  << trf("cannot use {}: {}; pops are for the members of desklined's desk group ([daemon] desk_group)",
                         socket_path.string(), std::strerror(errno))
                  << "\n";
        return 3;
      }
      if (options.once) {
        std::cerr << "deskline pop: " << trf("no daemon on {}: {}", socket_path.string(), std::strerror(errno)) << "\n";
        return 3;
      }
      if (!warned) std::cerr << "deskline pop: " << tr("waiting for desklined...") << "\n";
      warned = true;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    warned = false;
    nlohmann::json request = nlohmann::json::object();
    if (!options.lines.empty()) request["lines"] = options.lines;
    if (!options.desk.empty()) request["desk"] = options.desk;
    // The calls in progress come before the daemon reads the request: with a
    // filter, events wait for its answer, which names the lines that pass.
    const bool filtered = !options.lines.empty() || !options.desk.empty();
    std::optional<std::set<std::string>> passing;
    std::vector<std::pair<std::string, proto::pop::Event>> held;
    if (!position.stream.empty()) {
      request["resume_from"] = position.last_seq;
      request["stream"] = position.stream;  // ignored by a daemon of another stream
    }
    ConnectionFilter filter(position);
    if (!request.empty()) {
      const auto text = request.dump() + "\n";
      if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) < 0) {
        ::close(fd);
        continue;
      }
    }
    std::string buffer;
    char chunk[8192];
    ssize_t count;
    while ((count = ::recv(fd, chunk, sizeof chunk, 0)) > 0 || (count < 0 && errno == EINTR)) {
      if (count < 0) continue;
      buffer.append(chunk, static_cast<std::size_t>(count));
      std::size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        const auto line = buffer.substr(0, newline);
        buffer.erase(0, newline + 1);
        if (const auto hello = proto::pop::hello_from_json(line)) {
          filter.hello(*hello);
          continue;
        }
        std::vector<std::pair<std::string, proto::pop::Event>> ready;
        if (const auto answer = proto::pop::filter_answer_from_json(line)) {
          if (!answer->lines) {
            std::cerr << "deskline pop: " << answer->error << "\n";
            ::close(fd);
            return 2;
          }
          passing.emplace(answer->lines->begin(), answer->lines->end());
          ready = std::move(held);
          held.clear();
        } else if (auto event = proto::pop::event_from_json(line)) {
          ready.emplace_back(line, std::move(*event));
        } else {
          std::cerr << "deskline pop: " << line << "\n";  // an error object from the daemon
          continue;
        }
        for (auto& [text, event] : ready) {
          if (filtered && !passing) {
            held.emplace_back(std::move(text), std::move(event));
            continue;
          }
          // Device events concern every desk.
          if (passing && !event.line.empty() && !passing->contains(event.line)) continue;
          if (!filter.admit(event)) continue;
          // One per digit while a desk dials (proto/pop.md): data for --json,
          // not a line, a notification or a command each.
          const bool progress = event.event == "call.dialling";
          if (progress && !options.json) continue;
          if (options.json) std::cout << text << "\n";
          else std::cout << human_line(event) << "\n";
          std::cout.flush();
          if (!progress) run_for_event(options, event, notify_failed);
          if (options.count > 0 && ++shown >= options.count) {
            ::close(fd);
            return 0;
          }
        }
      }
    }
    ::close(fd);
    if (options.once) return 0;
    std::cerr << "deskline pop: " << tr("connection lost; reconnecting") << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

void add_pop_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<PopOptions>();
  auto* pop = app.add_subcommand("pop", tr("follow screen-pop events of the running daemon"));
  pop->add_flag("--json", options->json, tr("print each event as its JSON line"));
  pop->add_flag("--notify", options->notify, tr("show a desktop notification per ringing call (notify-send)"));
  pop->add_option("--exec", options->exec,
                  tr("run this shell command per event, with DESKLINE_* environment variables"));
  auto* line = pop->add_option("--line", options->lines, tr("only these lines (repeatable)"));
  pop->add_option("--desk", options->desk, tr("only the lines of this [[desk]]"))->excludes(line);
  pop->add_option("--count", options->count, tr("exit after this many events"))->check(whole_number(0, 1'000'000));
  pop->add_flag("--once", options->once, tr("exit when the daemon goes away instead of reconnecting"));
  pop->add_option("--socket", options->socket, tr("events socket (default: the configuration's)"));
  pop->callback([&context, options] {
    context.run = [&context, options] {
      ::signal(SIGPIPE, SIG_IGN);
      if (!options->socket.empty()) return follow(options->socket, *options);
      // Desk users may not read the admin's configuration: where it is
      // installed and closed to them, the default socket is used.
      if (context.config_path == config::default_path && ::access(context.config_path.c_str(), R_OK) != 0 &&
          errno == EACCES)
        return follow(config::Config{}.events_socket_path(), *options);
      auto config = context.load_config();
      return config ? follow(config->events_socket_path(), *options) : 2;
    };
  });
}

}  // namespace deskline::tools
