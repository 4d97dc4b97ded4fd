#include "daemon/core/thread_priority.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace deskline::daemon {

void become_bulk_thread(const char* name, Logger& log) {
  pthread_setname_np(pthread_self(), name);
  // On Linux the nice value is per thread: PRIO_PROCESS with a thread id
  // changes that thread alone.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), bulk_thread_nice) != 0)
    log.warning("thread {} keeps the daemon's CPU priority: {}", name, std::strerror(errno));
}

}  // namespace deskline::daemon
