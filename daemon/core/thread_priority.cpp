#include "daemon/core/thread_priority.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace deskline::daemon {

void become_bulk_thread(const char* name, Logger& log) {
  pthread_setname_np(pthread_self(), name);
  // On Linux the nice value is per thread: PRIO_PROCESS with a thread id
  // changes that thread alone. A daemon started nicer still keeps its value.
  const auto thread = static_cast<id_t>(gettid());
  errno = 0;
  const int inherited = getpriority(PRIO_PROCESS, thread);  // -1 is a nice value too
  const int nice = errno == 0 ? std::max(inherited, bulk_thread_nice) : bulk_thread_nice;
  if (nice != inherited && setpriority(PRIO_PROCESS, thread, nice) != 0)
    log.warning("thread {} keeps the daemon's CPU priority: {}", name, std::strerror(errno));
}

}  // namespace deskline::daemon
