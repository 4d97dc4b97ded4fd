// Threads that do bulk work (downloads, their file reads, the pull API's
// pages, the CRM sync, the database's writes) yield the CPU to the io_context thread, which carries pops and
// calls: on two busy cores, a pop waits for a core only as long as the
// scheduler lets a bulk thread keep it, and the kernel preempts a thread of
// a higher nice value for a woken one of a lower value at once.
#pragma once

#include "daemon/core/log.hpp"

namespace deskline::daemon {

// The nice value of bulk threads; the daemon's other threads keep 0.
constexpr int bulk_thread_nice = 10;

// Names the calling thread (as `top -H` and /proc/PID/task/TID/comm show it,
// at most 15 characters) and lowers its own CPU priority to bulk_thread_nice,
// or keeps the nice value it inherited if that is higher (lowering priority
// needs no privilege); a failure is logged as a warning and the thread runs
// on at the daemon's priority.
void become_bulk_thread(const char* name, Logger& log);

}  // namespace deskline::daemon
