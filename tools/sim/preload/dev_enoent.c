/* Preloaded into the program under deskline-sim, BEFORE libumockdev-preload.
 *
 * umockdev 0.17 leaks one slot of its 50-entry fd table for every failed open
 * of a /dev path while a testbed with ioctl handlers is active, then aborts
 * ("fd_map_add(): overflow"). PortAudio probes dozens of absent /dev/snd and
 * OSS nodes at start, so the daemon would die there (docs/architecture.md §7).
 *
 * This shim answers ENOENT itself for opens of /dev paths that do not exist,
 * asking the next access() in the chain (umockdev's, which knows the testbed's
 * view of /dev) so the answer is the one the real open would have given. Every
 * other open goes on unchanged. Opens that may create a file (O_CREAT,
 * O_TMPFILE: /dev/shm) are never intercepted.
 *
 * Every successful open is also shown to fifo_read.c, which makes reads of
 * the simulator's audio FIFOs whole (see there). */
#define _GNU_SOURCE
/* The fortified <fcntl.h> turns open() into an inline wrapper we could not define. */
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "preload.h"

typedef int (*access_function)(const char *path, int mode);
typedef int (*open_function)(const char *path, int flags, ...);
typedef int (*openat_function)(int directory, const char *path, int flags, ...);
typedef int (*open_2_function)(const char *path, int flags);
typedef int (*openat_2_function)(int directory, const char *path, int flags);

/* Resolved lazily: opens can happen before this object's constructors run.
 * Racing threads store the same pointer, so relaxed atomics are enough. */
static void *next_symbol(void **cache, const char *name) {
  void *symbol = __atomic_load_n(cache, __ATOMIC_RELAXED);
  if (symbol == NULL) {
    symbol = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, symbol, __ATOMIC_RELAXED);
  }
  return symbol;
}

/* ISO C has no object-to-function pointer cast; copying the bytes is the
 * POSIX-sanctioned way to use what dlsym returns. */
static int as_function(void *symbol, void *function_pointer, size_t size) {
  if (symbol == NULL) return 0;
  memcpy(function_pointer, &symbol, size);
  return 1;
}

static int creates_file(int flags) {
#ifdef O_TMPFILE
  if ((flags & O_TMPFILE) == O_TMPFILE) return 1;
#endif
  return (flags & O_CREAT) != 0;
}

/* True only when path is under /dev and the next access() says it is absent. */
static int absent_device_path(const char *path, int flags) {
  static void *next_access_cache;
  access_function next_access;
  int saved_errno, result, absent;

  if (path == NULL || strncmp(path, "/dev/", 5) != 0 || creates_file(flags)) return 0;
  if (!as_function(next_symbol(&next_access_cache, "access"), &next_access, sizeof next_access)) return 0;
  saved_errno = errno;
  result = next_access(path, F_OK);
  absent = result != 0 && errno == ENOENT;
  errno = saved_errno;
  return absent;
}

static mode_t mode_argument(int flags, va_list arguments) {
  return creates_file(flags) ? (mode_t)va_arg(arguments, int) : 0;
}

static int refuse(void) {
  errno = ENOENT;
  return -1;
}

static int forward_open(const char *name, void **cache, const char *path, int flags, mode_t mode) {
  open_function next;
  if (!as_function(next_symbol(cache, name), &next, sizeof next)) {
    errno = ENOSYS;
    return -1;
  }
  int fd = next(path, flags, mode);
  deskline_sim_note_open(path, fd);
  return fd;
}

static int forward_openat(const char *name, void **cache, int directory, const char *path, int flags,
                          mode_t mode) {
  openat_function next;
  if (!as_function(next_symbol(cache, name), &next, sizeof next)) {
    errno = ENOSYS;
    return -1;
  }
  int fd = next(directory, path, flags, mode);
  deskline_sim_note_open(path, fd);
  return fd;
}

int open(const char *path, int flags, ...) {
  static void *cache;
  va_list arguments;
  mode_t mode;
  va_start(arguments, flags);
  mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (absent_device_path(path, flags)) return refuse();
  return forward_open("open", &cache, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  static void *cache;
  va_list arguments;
  mode_t mode;
  va_start(arguments, flags);
  mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (absent_device_path(path, flags)) return refuse();
  return forward_open("open64", &cache, path, flags, mode);
}

/* openat with an absolute path ignores the directory, so the same check holds. */
int openat(int directory, const char *path, int flags, ...) {
  static void *cache;
  va_list arguments;
  mode_t mode;
  va_start(arguments, flags);
  mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (absent_device_path(path, flags)) return refuse();
  return forward_openat("openat", &cache, directory, path, flags, mode);
}

int openat64(int directory, const char *path, int flags, ...) {
  static void *cache;
  va_list arguments;
  mode_t mode;
  va_start(arguments, flags);
  mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (absent_device_path(path, flags)) return refuse();
  return forward_openat("openat64", &cache, directory, path, flags, mode);
}

/* _FORTIFY_SOURCE builds call these when the flags are not constant. */
static int forward_open_2(const char *name, void **cache, const char *path, int flags) {
  open_2_function next;
  if (!as_function(next_symbol(cache, name), &next, sizeof next)) {
    errno = ENOSYS;
    return -1;
  }
  int fd = next(path, flags);
  deskline_sim_note_open(path, fd);
  return fd;
}

static int forward_openat_2(const char *name, void **cache, int directory, const char *path, int flags) {
  openat_2_function next;
  if (!as_function(next_symbol(cache, name), &next, sizeof next)) {
    errno = ENOSYS;
    return -1;
  }
  int fd = next(directory, path, flags);
  deskline_sim_note_open(path, fd);
  return fd;
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int directory, const char *path, int flags);
int __openat64_2(int directory, const char *path, int flags);

int __open_2(const char *path, int flags) {
  static void *cache;
  if (absent_device_path(path, flags)) return refuse();
  return forward_open_2("__open_2", &cache, path, flags);
}

int __open64_2(const char *path, int flags) {
  static void *cache;
  if (absent_device_path(path, flags)) return refuse();
  return forward_open_2("__open64_2", &cache, path, flags);
}

int __openat_2(int directory, const char *path, int flags) {
  static void *cache;
  if (absent_device_path(path, flags)) return refuse();
  return forward_openat_2("__openat_2", &cache, directory, path, flags);
}

int __openat64_2(int directory, const char *path, int flags) {
  static void *cache;
  if (absent_device_path(path, flags)) return refuse();
  return forward_openat_2("__openat64_2", &cache, directory, path, flags);
}
