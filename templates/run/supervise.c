/*
 * supervise: run a program under a seccomp filter, answering every call the filter does not
 * allow exactly as the filter would, and recording each one.
 *
 *   supervise FILTER REPORT -- PROGRAM ARGS...
 *
 * FILTER is the raw filter as `sysgate generate --format bpf` writes it (struct sock_filter[],
 * native byte order). The child installs a *recording* copy of it (NO_NEW_PRIVS,
 * SECCOMP_FILTER_FLAG_NEW_LISTENER): the same program with every `ret K` whose action is not
 * ALLOW replaced by `ret SECCOMP_RET_USER_NOTIF`, so it decides ALLOW for exactly the same
 * inputs. The listener reaches the parent without a single call under the filter: the child
 * is a clone(CLONE_FILES) sharing the parent's descriptor table, and writes the listener's
 * number to shared memory (a socketpair and SCM_RIGHTS would need sendmsg after the filter is
 * in: a policy that denies it, or a foreign arch's filter, would block the child in the very
 * notification nobody can read yet). execve gives the program its own table (the listener is
 * close-on-exec there); the parent's keeps it. For each
 * notification the parent runs the *shipped* FILTER in the BPF interpreter below over the
 * notification's seccomp_data, and answers as the device would:
 *   ERRNO(e)                 the call fails with -e (not executed)
 *   KILL_PROCESS/KILL_THREAD the child's process group gets SIGKILL; the report says SIGSYS
 *   TRAP                     SIGSYS to the calling thread (tgkill), the call fails with ENOSYS
 *   TRACE, USER_NOTIF        no tracer / no listener on the device: ENOSYS
 *   LOG                      the call runs (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 * REPORT gets one line per notification,
 *   nr=<n> arch=0x<audit> ip=0x<ip> ret=0x<action> obj=<path|-> off=0x<offset> pid=<tid>
 * (spaces and backslashes in paths written as \x20 and \x5c), and at the end
 *   exit code=<n>   or   exit signal=<n>
 * supervise exits with the program's status (128+N for signal N). Its own errors: one line on
 * stderr, exit 2 (usage, bad filter) or 125 (the kernel refused).
 * SYSGATE_SUPERVISE_DUMP=FILE writes the recording filter to FILE first.
 *
 * Portable C (gnu11), Linux syscalls through syscall(2): built for the host and, static, for
 * the VM guests (arm, aarch64).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sched.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

#define MAX_INSNS 4096

static struct sock_filter shipped[MAX_INSNS];
static struct sock_filter recording[MAX_INSNS];
static unsigned ninsns;
static int report_fd = -1;

static void fail(int code, const char *what, const char *detail) {
  if (detail) fprintf(stderr, "supervise: %s: %s\n", what, detail);
  else fprintf(stderr, "supervise: %s\n", what);
  exit(code);
}

/* ---- the BPF interpreter: classic BPF as the kernel's seccomp accepts it ---- */

static uint32_t run_filter(const struct sock_filter *f, unsigned n, const struct seccomp_data *sd) {
  const unsigned char *data = (const unsigned char *)sd;
  uint32_t A = 0, X = 0, mem[BPF_MEMWORDS];
  memset(mem, 0, sizeof mem);
  for (unsigned pc = 0; pc < n; pc++) {
    const struct sock_filter *i = &f[pc];
    uint32_t k = i->k;
    switch (BPF_CLASS(i->code)) {
    case BPF_LD:
      switch (BPF_MODE(i->code)) {
      case BPF_ABS:
        if (BPF_SIZE(i->code) != BPF_W || k > sizeof *sd - 4 || (k & 3)) return SECCOMP_RET_KILL_PROCESS;
        memcpy(&A, data + k, 4);
        break;
      case BPF_LEN: A = sizeof *sd; break;
      case BPF_IMM: A = k; break;
      case BPF_MEM: A = k < BPF_MEMWORDS ? mem[k] : 0; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      break;
    case BPF_LDX:
      switch (BPF_MODE(i->code)) {
      case BPF_LEN: X = sizeof *sd; break;
      case BPF_IMM: X = k; break;
      case BPF_MEM: X = k < BPF_MEMWORDS ? mem[k] : 0; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      break;
    case BPF_ST: if (k < BPF_MEMWORDS) mem[k] = A; break;
    case BPF_STX: if (k < BPF_MEMWORDS) mem[k] = X; break;
    case BPF_ALU: {
      uint32_t v = BPF_SRC(i->code) == BPF_X ? X : k;
      switch (BPF_OP(i->code)) {
      case BPF_ADD: A += v; break;
      case BPF_SUB: A -= v; break;
      case BPF_MUL: A *= v; break;
      case BPF_DIV: if (v == 0) return 0; A /= v; break;
      case BPF_MOD: if (v == 0) return 0; A %= v; break;
      case BPF_OR: A |= v; break;
      case BPF_AND: A &= v; break;
      case BPF_XOR: A ^= v; break;
      case BPF_LSH: A = v < 32 ? A << v : 0; break;
      case BPF_RSH: A = v < 32 ? A >> v : 0; break;
      case BPF_NEG: A = (uint32_t)-A; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      break;
    }
    case BPF_JMP: {
      if (BPF_OP(i->code) == BPF_JA) { pc += k; break; }
      uint32_t v = BPF_SRC(i->code) == BPF_X ? X : k;
      int t;
      switch (BPF_OP(i->code)) {
      case BPF_JEQ: t = A == v; break;
      case BPF_JGT: t = A > v; break;
      case BPF_JGE: t = A >= v; break;
      case BPF_JSET: t = (A & v) != 0; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      pc += t ? i->jt : i->jf;
      break;
    }
    case BPF_RET:
      return BPF_RVAL(i->code) == BPF_A ? A : k;
    case BPF_MISC:
      if (BPF_MISCOP(i->code) == BPF_TAX) X = A; else A = X;
      break;
    }
  }
  return SECCOMP_RET_KILL_PROCESS; /* fell off the end: the kernel refuses such programs */
}

/* ---- the filter files ---- */

static void read_filter(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(2, path, strerror(errno));
  size_t got = 0, want = sizeof shipped;
  for (;;) {
    ssize_t r = read(fd, (char *)shipped + got, want - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(2, path, strerror(errno));
    if (r == 0) break;
    got += (size_t)r;
    if (got == want) {
      char extra;
      if (read(fd, &extra, 1) > 0) fail(2, path, "more than 4096 instructions");
      break;
    }
  }
  close(fd);
  if (got == 0 || got % sizeof shipped[0]) fail(2, path, "not a raw seccomp filter (size is not a positive multiple of 8)");
  ninsns = (unsigned)(got / sizeof shipped[0]);
  for (unsigned pc = 0; pc < ninsns; pc++) {
    recording[pc] = shipped[pc];
    if (BPF_CLASS(shipped[pc].code) != BPF_RET) continue;
    if (BPF_RVAL(shipped[pc].code) != BPF_K) fail(2, path, "the filter returns A (ret a): only ret #k can be recorded");
    if ((shipped[pc].k & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW) recording[pc].k = SECCOMP_RET_USER_NOTIF;
  }
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    len -= (size_t)w;
  }
}

static void dump_recording(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(2, path, strerror(errno));
  write_all(fd, recording, ninsns * sizeof recording[0]);
  close(fd);
}

/* ---- where a call came from: /proc/PID/maps ---- */

struct where { char obj[1024]; unsigned long long off; };

static void locate(pid_t pid, unsigned long long ip, struct where *w) {
  char path[64], line[1400];
  strcpy(w->obj, "-");
  w->off = ip;
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    unsigned long long lo, hi, off;
    int name = 0;
    if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off, &name) < 3) continue;
    if (ip < lo || ip >= hi) continue;
    char *n = line + name;
    n[strcspn(n, "\n")] = 0;
    if (name > 0 && *n) {
      size_t j = 0;
      for (const char *c = n; *c && j + 5 < sizeof w->obj; c++) {
        if (*c == ' ' || *c == '\\') j += (size_t)snprintf(w->obj + j, sizeof w->obj - j, "\\x%02x", (unsigned char)*c);
        else w->obj[j++] = *c;
      }
      w->obj[j] = 0;
      w->off = ip - lo + off;
    }
    break;
  }
  fclose(f);
}

static pid_t tgid_of(pid_t tid) {
  char path[64], line[256];
  pid_t tgid = tid;
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  FILE *f = fopen(path, "re");
  if (!f) return tid;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Tgid: %d", &tgid) == 1) break;
  fclose(f);
  return tgid;
}

/* ---- the child ---- */

/* What the child tells the parent, in memory both see: no call needed once the filter is in. */
struct handshake {
  volatile int state; /* 0 not yet, 1 listener ready, 2 failed */
  volatile int listener;
  volatile int err;
  volatile const char *what;
};

static void child(struct handshake *hs, char **argv) {
  setpgid(0, 0);
  struct sock_fprog prog = { .len = (unsigned short)ninsns, .filter = recording };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    hs->err = errno;
    hs->what = "prctl(PR_SET_NO_NEW_PRIVS)";
    __atomic_store_n(&hs->state, 2, __ATOMIC_SEQ_CST);
    _exit(125);
  }
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (listener < 0) {
    hs->err = errno;
    hs->what = "the kernel refused the filter";
    __atomic_store_n(&hs->state, 2, __ATOMIC_SEQ_CST);
    _exit(125);
  }
  /* From here on every call goes through the recording filter; the parent answers. */
  hs->listener = (int)listener;
  __atomic_store_n(&hs->state, 1, __ATOMIC_SEQ_CST);
  execv(argv[0], argv);
  int e = errno;
  fprintf(stderr, "supervise: cannot run %s: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* ---- the parent ---- */

static volatile sig_atomic_t got_chld;
static volatile pid_t child_pid;
static void on_chld(int sig) { (void)sig; got_chld = 1; }
/* The program has its own process group: signals meant for the run go on to it. */
static void on_forward(int sig) {
  if (child_pid > 0) kill(-child_pid, sig);
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: supervise FILTER REPORT -- PROGRAM [ARGS...]\n");
    return 2;
  }
  read_filter(argv[1]);
  const char *dump = getenv("SYSGATE_SUPERVISE_DUMP");
  if (dump && *dump) dump_recording(dump);
  report_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (report_fd < 0) fail(2, argv[2], strerror(errno));

  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) fail(125, "this kernel has no seccomp user notification (Linux >= 5.0)", strerror(errno));

  struct handshake *hs = mmap(NULL, sizeof *hs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (hs == MAP_FAILED) fail(125, "mmap", strerror(errno));
  memset((void *)hs, 0, sizeof *hs);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_chld;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);

  fflush(NULL);
  /* fork, but sharing the descriptor table (the arguments after flags are 0 on every arch) */
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_FILES | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
  if (pid < 0) fail(125, "clone", strerror(errno));
  if (pid == 0) child(hs, argv + 4);
  setpgid(pid, pid);
  child_pid = pid;
  sa.sa_handler = on_forward;
  const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
  /* The program's group owns the terminal while it runs, so it can read from it. */
  int tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
  if (tty) {
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(STDIN_FILENO, pid);
  }

  int listener = -1;
  for (;;) {
    int st = __atomic_load_n(&hs->state, __ATOMIC_SEQ_CST);
    if (st == 1) {
      /* The number is valid in the shared table; keep our own copy (execve unshares the child's). */
      listener = fcntl(hs->listener, F_DUPFD_CLOEXEC, 3);
      break;
    }
    int status;
    if (st == 2 || waitpid(pid, &status, WNOHANG) == pid) {
      if (st != 2) {
        st = __atomic_load_n(&hs->state, __ATOMIC_SEQ_CST);
        if (st == 1) continue;
      }
      if (st != 2) while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      if (tty) tcsetpgrp(STDIN_FILENO, getpgrp());
      if (st == 2) fail(125, (const char *)hs->what, strerror(hs->err));
      fail(125, "the child ended before it installed the filter", NULL);
    }
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, NULL);
  }
  if (listener < 0) fail(125, "dup of the seccomp listener", strerror(errno));

  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif > sizeof *req ? sizes.seccomp_notif : sizeof *req);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp > sizeof *resp ? sizes.seccomp_notif_resp : sizeof *resp);
  if (!req || !resp) fail(125, "out of memory", NULL);

  int status = 0, exited = 0, hup = 0, killed = 0;
  for (;;) {
    if (!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) exited = 1;
    }
    if (hup || (exited && killed)) break;
    struct pollfd pfd = { .fd = listener, .events = POLLIN };
    int n = poll(&pfd, 1, exited ? 200 : 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) {
      if (exited) break; /* the program is gone and nothing of it calls any more */
      continue;
    }
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) hup = 1;
    if (!(pfd.revents & POLLIN)) continue;
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue; /* interrupted, or the caller died */
      break;
    }
    struct where w;
    locate((pid_t)req->pid, (unsigned long long)req->data.instruction_pointer, &w);
    /* The pid may have been reused while /proc was read: only a live notification counts. */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) != 0) continue;
    uint32_t ret = run_filter(shipped, ninsns, &req->data);
    uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
    dprintf(report_fd, "nr=%d arch=0x%x ip=0x%llx ret=0x%x obj=%s off=0x%llx pid=%d\n", req->data.nr, req->data.arch,
            (unsigned long long)req->data.instruction_pointer, ret, w.obj, w.off, (int)req->pid);
    memset(resp, 0, sizes.seccomp_notif_resp);
    resp->id = req->id;
    switch (action) {
    case SECCOMP_RET_ALLOW:
    case SECCOMP_RET_LOG:
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      break;
    case SECCOMP_RET_ERRNO:
      resp->error = -(int32_t)(ret & SECCOMP_RET_DATA);
      break;
    case SECCOMP_RET_TRAP: {
      pid_t tid = (pid_t)req->pid;
      syscall(SYS_tgkill, tgid_of(tid), tid, SIGSYS);
      resp->error = -ENOSYS;
      break;
    }
    case SECCOMP_RET_TRACE:
    case SECCOMP_RET_USER_NOTIF:
      resp->error = -ENOSYS;
      break;
    default: /* KILL_PROCESS, KILL_THREAD and unknown actions (the kernel kills the process) */
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      killed = 1;
      continue;
    }
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT && errno != EINTR) {
      /* the caller was interrupted by a signal or died: nothing to answer */
    }
  }
  if (!exited)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (tty) tcsetpgrp(STDIN_FILENO, getpgrp());
  int code;
  if (killed) {
    dprintf(report_fd, "exit signal=%d\n", SIGSYS);
    code = 128 + SIGSYS;
  } else if (WIFSIGNALED(status)) {
    dprintf(report_fd, "exit signal=%d\n", WTERMSIG(status));
    code = 128 + WTERMSIG(status);
  } else {
    dprintf(report_fd, "exit code=%d\n", WEXITSTATUS(status));
    code = WEXITSTATUS(status);
  }
  close(report_fd);
  return code;
}
