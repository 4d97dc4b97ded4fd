/* Whole reads from the simulator's audio FIFOs.
 *
 * ALSA's "file" PCM reads its infile with one read() per period and reports
 * the full period to the application whatever read() returned. A FIFO read
 * returns as soon as any bytes are there, so a period that straddles two of
 * the simulator's 20 ms writes came back short, padded with stale samples,
 * and capture ran faster than real time. For the simulator's FIFOs only
 * ("<tmp>/deskline-sim.XXXXXX/<pcm>.fifo") this makes read() wait for the
 * whole request, as a sound card's period would: the writer's real-time pace
 * is then the capture clock, and every sample arrives once and in order. */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "preload.h"

#define TRACKED_FDS 4096

static unsigned char sim_fifo[TRACKED_FDS];

typedef ssize_t (*read_function)(int fd, void *buffer, size_t count);
typedef ssize_t (*read_chk_function)(int fd, void *buffer, size_t count, size_t buffer_size);
typedef int (*close_function)(int fd);

static void *next_symbol(void **cache, const char *name) {
  void *symbol = __atomic_load_n(cache, __ATOMIC_RELAXED);
  if (symbol == NULL) {
    symbol = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, symbol, __ATOMIC_RELAXED);
  }
  return symbol;
}

static int is_sim_fifo_path(const char *path) {
  static const char suffix[] = ".fifo";
  size_t length;
  if (path == NULL || strstr(path, "/deskline-sim.") == NULL) return 0;
  length = strlen(path);
  return length > sizeof suffix - 1 && strcmp(path + length - (sizeof suffix - 1), suffix) == 0;
}

static int is_tracked(int fd) {
  return fd >= 0 && fd < TRACKED_FDS && __atomic_load_n(&sim_fifo[fd], __ATOMIC_RELAXED) != 0;
}

void deskline_sim_note_open(const char *path, int fd) {
  if (fd < 0 || fd >= TRACKED_FDS) return;
  __atomic_store_n(&sim_fifo[fd], (unsigned char)(is_sim_fifo_path(path) ? 1 : 0), __ATOMIC_RELAXED);
}

/* Reads until count bytes, end of file or an error before any byte. */
static ssize_t read_whole(read_function next, int fd, void *buffer, size_t count) {
  size_t done = 0;
  while (done < count) {
    ssize_t got = next(fd, (char *)buffer + done, count - done);
    if (got > 0) {
      done += (size_t)got;
      continue;
    }
    if (got == 0) break;                    /* writer gone */
    if (errno == EINTR && done > 0) continue; /* keep frames aligned */
    if (done == 0) return got;
    break;
  }
  return (ssize_t)done;
}

ssize_t read(int fd, void *buffer, size_t count) {
  static void *cache;
  read_function next;
  void *symbol = next_symbol(&cache, "read");
  if (symbol == NULL) {
    errno = ENOSYS;
    return -1;
  }
  memcpy(&next, &symbol, sizeof next);
  if (is_tracked(fd)) return read_whole(next, fd, buffer, count);
  return next(fd, buffer, count);
}

ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size);
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size) {
  static void *cache;
  read_chk_function next;
  void *symbol = next_symbol(&cache, "__read_chk");
  if (symbol == NULL) {
    errno = ENOSYS;
    return -1;
  }
  memcpy(&next, &symbol, sizeof next);
  if (is_tracked(fd) && count <= buffer_size) return read(fd, buffer, count);
  return next(fd, buffer, count, buffer_size);
}

int close(int fd) {
  static void *cache;
  close_function next;
  void *symbol = next_symbol(&cache, "close");
  if (symbol == NULL) {
    errno = ENOSYS;
    return -1;
  }
  memcpy(&next, &symbol, sizeof next);
  if (fd >= 0 && fd < TRACKED_FDS) __atomic_store_n(&sim_fifo[fd], (unsigned char)0, __ATOMIC_RELAXED);
  return next(fd);
}
