/*
 * sysgate run: the supervisor (draft for the VM part; the integrator replaces it with
 * templates/run/supervise.c, which follows the same contract).
 *
 *   supervise FILTER REPORT -- PROGRAM ARGS...
 *
 * FILTER is the raw struct sock_filter[] `sysgate generate --format bpf` writes (native byte order).
 * The child gets a recording copy: every `ret K` whose action is not ALLOW becomes
 * `ret SECCOMP_RET_USER_NOTIF`. Each notification is judged by the shipped FILTER, run here in a
 * classic-BPF interpreter over the notification's seccomp_data, and answered like the device:
 * ERRNO(e) -> -e; KILL_* -> SIGKILL to the child's process group (reported as SIGSYS, what the
 * device does); TRAP -> SIGSYS to the calling thread, -ENOSYS; TRACE / USER_NOTIF (no tracer, no
 * listener on the device) -> -ENOSYS; ALLOW / LOG -> the call goes on. REPORT gets one line per
 * notification and a last `exit code=N` / `exit signal=N` line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif
#define RET_ACTION_FULL 0xffff0000U
#define RET_KILL_PROCESS 0x80000000U
#define RET_KILL_THREAD 0x00000000U
#define RET_TRAP 0x00030000U
#define RET_ERRNO 0x00050000U
#define RET_TRACE 0x7ff00000U
#define RET_LOG 0x7ffc0000U
#define RET_ALLOW 0x7fff0000U

static void die(const char *what) {
  fprintf(stderr, "supervise: %s: %s\n", what, strerror(errno));
  exit(125);
}

/* Classic BPF as seccomp accepts it, over a struct seccomp_data. */
static uint32_t run_bpf(const struct sock_filter *f, size_t n, const struct seccomp_data *d) {
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};
  const unsigned char *data = (const unsigned char *)d;
  for (size_t pc = 0; pc < n; pc++) {
    const struct sock_filter *i = &f[pc];
    uint32_t k = i->k;
    switch (i->code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (k > sizeof *d - 4 || (k & 3)) return RET_KILL_THREAD;
        memcpy(&A, data + k, 4); break;
      case BPF_LD | BPF_W | BPF_LEN: A = sizeof *d; break;
      case BPF_LDX | BPF_W | BPF_LEN: X = sizeof *d; break;
      case BPF_LD | BPF_IMM: A = k; break;
      case BPF_LDX | BPF_IMM: X = k; break;
      case BPF_LD | BPF_MEM: A = M[k & 15]; break;
      case BPF_LDX | BPF_MEM: X = M[k & 15]; break;
      case BPF_ST: M[k & 15] = A; break;
      case BPF_STX: M[k & 15] = X; break;
      case BPF_MISC | BPF_TAX: X = A; break;
      case BPF_MISC | BPF_TXA: A = X; break;
      case BPF_ALU | BPF_ADD | BPF_K: A += k; break;
      case BPF_ALU | BPF_ADD | BPF_X: A += X; break;
      case BPF_ALU | BPF_SUB | BPF_K: A -= k; break;
      case BPF_ALU | BPF_SUB | BPF_X: A -= X; break;
      case BPF_ALU | BPF_MUL | BPF_K: A *= k; break;
      case BPF_ALU | BPF_MUL | BPF_X: A *= X; break;
      case BPF_ALU | BPF_DIV | BPF_K: A = k ? A / k : 0; break;
      case BPF_ALU | BPF_DIV | BPF_X: if (!X) return 0; A /= X; break;
      case BPF_ALU | BPF_MOD | BPF_K: A = k ? A % k : 0; break;
      case BPF_ALU | BPF_MOD | BPF_X: if (!X) return 0; A %= X; break;
      case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
      case BPF_ALU | BPF_AND | BPF_X: A &= X; break;
      case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
      case BPF_ALU | BPF_OR | BPF_X: A |= X; break;
      case BPF_ALU | BPF_XOR | BPF_K: A ^= k; break;
      case BPF_ALU | BPF_XOR | BPF_X: A ^= X; break;
      case BPF_ALU | BPF_LSH | BPF_K: A = k < 32 ? A << k : 0; break;
      case BPF_ALU | BPF_LSH | BPF_X: A = X < 32 ? A << X : 0; break;
      case BPF_ALU | BPF_RSH | BPF_K: A = k < 32 ? A >> k : 0; break;
      case BPF_ALU | BPF_RSH | BPF_X: A = X < 32 ? A >> X : 0; break;
      case BPF_ALU | BPF_NEG: A = -A; break;
      case BPF_JMP | BPF_JA: pc += k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += (A == k) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JEQ | BPF_X: pc += (A == X) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JGT | BPF_K: pc += (A > k) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JGT | BPF_X: pc += (A > X) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += (A >= k) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JGE | BPF_X: pc += (A >= X) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (A & k) ? i->jt : i->jf; break;
      case BPF_JMP | BPF_JSET | BPF_X: pc += (A & X) ? i->jt : i->jf; break;
      case BPF_RET | BPF_K: return k;
      case BPF_RET | BPF_A: return A;
      default: return RET_KILL_THREAD; /* the kernel would have refused the program */
    }
  }
  return RET_KILL_THREAD;
}

/* The mapping of /proc/TID/maps that holds ip: its path and the file offset of ip. */
static void where(pid_t tid, uint64_t ip, char *obj, size_t objlen, uint64_t *off) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)tid);
  snprintf(obj, objlen, "-");
  *off = 0;
  FILE *m = fopen(path, "re");
  if (!m) return;
  while (fgets(line, sizeof line, m)) {
    unsigned long long lo, hi, fo;
    int pos = 0;
    if (sscanf(line, "%llx-%llx %*s %llx %*s %*s%n", &lo, &hi, &fo, &pos) < 3) continue;
    if (ip < lo || ip >= hi) continue;
    char *p = line + pos;
    while (*p == ' ') p++;
    p[strcspn(p, "\n")] = 0;
    if (*p) snprintf(obj, objlen, "%s", p);
    for (char *q = obj; *q; q++) if (*q == ' ') *q = '_';
    *off = ip - lo + fo;
    break;
  }
  fclose(m);
}

static pid_t tgid_of(pid_t tid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  FILE *f = fopen(path, "re");
  pid_t tgid = tid;
  if (!f) return tid;
  while (fgets(line, sizeof line, f)) if (sscanf(line, "Tgid: %d", &tgid) == 1) break;
  fclose(f);
  return tgid;
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: supervise FILTER REPORT -- PROGRAM ARGS...\n");
    return 125;
  }
  FILE *ff = fopen(argv[1], "rb");
  if (!ff) die(argv[1]);
  struct sock_filter *shipped = NULL;
  size_t n = 0, cap = 0;
  struct sock_filter ins;
  while (fread(&ins, sizeof ins, 1, ff) == 1) {
    if (n == cap) { cap = cap ? cap * 2 : 256; shipped = realloc(shipped, cap * sizeof *shipped); if (!shipped) die("realloc"); }
    shipped[n++] = ins;
  }
  fclose(ff);
  if (n == 0 || n > 4096) { fprintf(stderr, "supervise: %s: not a filter (%zu instructions)\n", argv[1], n); return 125; }
  struct sock_filter *rec = malloc(n * sizeof *rec);
  if (!rec) die("malloc");
  memcpy(rec, shipped, n * sizeof *rec);
  for (size_t i = 0; i < n; i++)
    if (rec[i].code == (BPF_RET | BPF_K) && (rec[i].k & RET_ACTION_FULL) != RET_ALLOW) rec[i].k = SECCOMP_RET_USER_NOTIF;

  FILE *rep = fopen(argv[2], "we");
  if (!rep) die(argv[2]);
  setvbuf(rep, NULL, _IOLBF, 0);

  /* The child shares our fd table until execve, so the listener it creates is ours too; it
   * stores the number in a shared page (a plain store: no syscall the filter could refuse). */
  volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) die("mmap");
  shared[0] = -1; /* listener fd */
  shared[1] = 0;  /* errno of a failed set-up */
  fflush(NULL);
  long child = syscall(SYS_clone, (unsigned long)(CLONE_FILES | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
  if (child < 0) die("clone");
  if (child == 0) {
    setpgid(0, 0);
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = rec };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { shared[1] = errno; shared[0] = -2; _exit(125); }
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0) { shared[1] = errno; shared[0] = -2; _exit(125); }
    shared[0] = (int)fd;
    execv(argv[4], argv + 4);
    _exit(127);
  }
  setpgid((pid_t)child, (pid_t)child);
  while (shared[0] == -1) {
    int st;
    if (waitpid((pid_t)child, &st, WNOHANG) == (pid_t)child) { fprintf(stderr, "supervise: the child ended before its filter was installed\n"); return 125; }
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, NULL);
  }
  if (shared[0] == -2) { errno = shared[1]; die("installing the recording filter"); }
  int listener = shared[0];

  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) die("SECCOMP_GET_NOTIF_SIZES");
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif > sizeof *req ? sizes.seccomp_notif : sizeof *req);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp > sizeof *resp ? sizes.seccomp_notif_resp : sizeof *resp);
  if (!req || !resp) die("calloc");

  int killed = 0, status = 0, done = 0;
  while (!done) {
    struct pollfd p = { .fd = listener, .events = POLLIN };
    int r = poll(&p, 1, 50);
    if (r > 0 && (p.revents & POLLIN)) {
      memset(req, 0, sizes.seccomp_notif);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
        if (errno == EINTR || errno == ENOENT) continue;
        die("SECCOMP_IOCTL_NOTIF_RECV");
      }
      uint32_t ret = run_bpf(shipped, n, &req->data);
      uint32_t action = ret & RET_ACTION_FULL;
      char obj[512];
      uint64_t off;
      where((pid_t)req->pid, req->data.instruction_pointer, obj, sizeof obj, &off);
      fprintf(rep, "nr=%d arch=0x%x ip=0x%llx ret=0x%x obj=%s off=0x%llx\n", req->data.nr, req->data.arch,
              (unsigned long long)req->data.instruction_pointer, ret, obj, (unsigned long long)off);
      memset(resp, 0, sizes.seccomp_notif_resp);
      resp->id = req->id;
      if (action == RET_ALLOW || action == RET_LOG) {
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      } else if (action == RET_ERRNO) {
        uint32_t e = ret & 0xffff;
        resp->error = -(int)(e > 4095 ? 4095 : e);
      } else if (action == RET_KILL_PROCESS || action == RET_KILL_THREAD) {
        killed = 1;
        kill(-(pid_t)child, SIGKILL);
        kill((pid_t)child, SIGKILL);
        resp->error = -ENOSYS;
      } else if (action == RET_TRAP) {
        syscall(SYS_tgkill, tgid_of((pid_t)req->pid), (pid_t)req->pid, SIGSYS);
        resp->error = -ENOSYS;
      } else {
        resp->error = -ENOSYS;
      }
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT && errno != EINTR) die("SECCOMP_IOCTL_NOTIF_SEND");
      continue;
    }
    if (r < 0 && errno != EINTR) die("poll");
    if (waitpid((pid_t)child, &status, WNOHANG) == (pid_t)child) done = 1;
  }
  if (killed) fprintf(rep, "exit signal=%d\n", SIGSYS);
  else if (WIFSIGNALED(status)) fprintf(rep, "exit signal=%d\n", WTERMSIG(status));
  else fprintf(rep, "exit code=%d\n", WEXITSTATUS(status));
  fclose(rep);
  if (killed) return 128 + SIGSYS;
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
