/*
 * verdicts: ask this machine's kernel what a seccomp filter decides, without running the calls.
 *
 *   verdicts FILTER [PROBES]
 *
 * FILTER is a raw struct sock_filter array (native byte order). PROBES has one probe a line,
 * "ABI NR [ARG0 .. ARG5]" with ABI x86_64 or i386 (x32 numbers are x86_64 numbers with bit
 * 0x40000000); numbers in C syntax (0x.. accepted). Without PROBES: x86_64 0..1100, x32
 * 0..1100, i386 0..1100 and x86_64 0xffffffff. Output, in probe order: "ABI NR VERDICT" with
 * VERDICT one of: allow | errno N | trap N | kill-thread | kill-process | skipped | error TEXT.
 * A filter the kernel refuses prints "rejected ERRNO" and exits 3.
 *
 * Method. A worker thread installs a "probe" filter (SECCOMP_RET_USER_NOTIF for everything,
 * with a listener) and then the filter under test. The stacked filters give the most severe
 * action: KILL, TRAP and ERRNO from the filter under test outrank USER_NOTIF; ALLOW, LOG and
 * TRACE do not, so those calls become notifications to the supervisor (the main thread, which
 * has no filter), which records "allow" and answers with a made-up value: nothing is executed.
 * USER_NOTIF from the filter under test matches that filter first; it has no listener, so the
 * kernel fails the call with ENOSYS. TRAP raises SIGSYS in the worker (si_errno = data); the
 * handler longjmps back (no syscall: sigreturn would be filtered). KILL_THREAD ends the worker
 * (the listener hangs up; a new worker carries on from the next probe); KILL_PROCESS ends the
 * child process, and the parent starts a new one from the next probe.
 * x86_64 335 (uretprobe) and 336 (uprobe) bypass seccomp on recent kernels: they are skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ABI_X86_64 = 0, ABI_I386 = 1 };
enum { ST_NONE = 0, ST_RETURNED, ST_NOTIFIED, ST_TRAPPED, ST_KILL_THREAD, ST_KILL_PROCESS, ST_SKIPPED, ST_ERROR };
enum { PH_SETUP = 0, PH_PROBING, PH_DONE, PH_FAILED };

#define MAGIC 0x5ec0de

struct probe { int abi; uint32_t nr; uint64_t args[6]; };
struct result { int state; int64_t ret; int data; char err[48]; };
struct shared {
  volatile int cur;
  volatile int listener;
  volatile int phase;
  volatile int setup_errno;
};

static struct probe *probes;
static int nprobes;
static struct shared *sh;
static struct result *res;
static struct sock_fprog test_prog;
static sigjmp_buf jb;

static void die(const char *msg) {
  perror(msg);
  exit(4);
}

static long probe64(const struct probe *p) {
  register long r10 __asm__("r10") = (long)p->args[3];
  register long r8 __asm__("r8") = (long)p->args[4];
  register long r9 __asm__("r9") = (long)p->args[5];
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"((long)(int32_t)p->nr), "D"(p->args[0]), "S"(p->args[1]), "d"(p->args[2]),
                     "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static long probe32(const struct probe *p) {
  long ret;
  /* A real i386 process has 32-bit registers: zero the high halves (the kernel passes the
   * full 64-bit registers of a 64-bit caller to seccomp as the arguments). */
  uint64_t a0 = (uint32_t)p->args[0], a1 = (uint32_t)p->args[1], a2 = (uint32_t)p->args[2];
  uint64_t a3 = (uint32_t)p->args[3], a4 = (uint32_t)p->args[4], a5 = (uint32_t)p->args[5];
  /* int $0x80 from 64-bit code: the i386 ABI, arch AUDIT_ARCH_I386. ebp carries arg 5. */
  __asm__ volatile("sub $128, %%rsp\n\t"
                   "push %%rbp\n\t"
                   "mov %[a5], %%rbp\n\t"
                   "int $0x80\n\t"
                   "pop %%rbp\n\t"
                   "add $128, %%rsp"
                   : "=a"(ret)
                   : "0"((uint64_t)p->nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3), "D"(a4), [a5] "r"(a5)
                   : "r8", "r9", "r10", "r11", "memory");
  return (int)ret;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  struct result *r = &res[sh->cur];
  const struct probe *p = &probes[sh->cur];
  unsigned want_arch = p->abi == ABI_I386 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
  if ((uint32_t)si->si_syscall != p->nr || si->si_arch != want_arch) {
    r->state = ST_ERROR;
    snprintf(r->err, sizeof r->err, "SIGSYS for nr %d arch %x", si->si_syscall, si->si_arch);
  } else {
    r->state = ST_TRAPPED;
    r->data = si->si_errno;
  }
  siglongjmp(jb, 1); /* savemask 0: no sigprocmask call */
}

static void *worker(void *arg) {
  int start = (int)(intptr_t)arg;
  struct sock_filter notify[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)};
  struct sock_fprog notify_prog = {1, notify};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) goto fail;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &notify_prog);
  if (fd < 0) goto fail;
  sh->listener = (int)fd;
  /* This call is seen by the probe filter; the supervisor lets it run. */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &test_prog)) goto fail;
  __atomic_store_n(&sh->phase, PH_PROBING, __ATOMIC_SEQ_CST);
  for (volatile int i = start; i < nprobes; i++) {
    __atomic_store_n(&sh->cur, i, __ATOMIC_SEQ_CST);
    if (res[i].state == ST_SKIPPED) continue;
    if (sigsetjmp(jb, 0) == 0) {
      const struct probe *p = &probes[i];
      long r = p->abi == ABI_I386 ? probe32(p) : probe64(p);
      if (res[i].state == ST_NONE) {
        res[i].state = ST_RETURNED;
        res[i].ret = r;
      } else if (res[i].state == ST_NOTIFIED && r != MAGIC) {
        res[i].state = ST_ERROR;
        snprintf(res[i].err, sizeof res[i].err, "notified but returned %ld", r);
      }
    }
  }
  __atomic_store_n(&sh->phase, PH_DONE, __ATOMIC_SEQ_CST);
  for (;;) __builtin_ia32_pause(); /* any syscall would be filtered; the supervisor exits */
fail:
  sh->setup_errno = errno;
  __atomic_store_n(&sh->phase, PH_FAILED, __ATOMIC_SEQ_CST);
  for (;;) __builtin_ia32_pause();
  return NULL;
}

/* One child process: a supervisor thread and one worker at a time. */
static void run_child(int start) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSYS, &sa, NULL);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  alarm(60);

  struct seccomp_notif *req = calloc(1, 4096);
  struct seccomp_notif_resp *resp = calloc(1, 4096);
  int idx = start;
  while (idx < nprobes) {
    sh->listener = -1;
    sh->phase = PH_SETUP;
    sh->cur = idx;
    pthread_t th;
    if (pthread_create(&th, NULL, worker, (void *)(intptr_t)idx)) die("pthread_create");
    while (sh->listener < 0 && sh->phase != PH_FAILED) sched_yield();
    if (sh->phase == PH_FAILED) _exit(3);
    int fd = sh->listener;
    for (;;) {
      struct pollfd pfd = {fd, POLLIN, 0};
      int n = poll(&pfd, 1, 2);
      if (n > 0 && (pfd.revents & POLLIN)) {
        memset(req, 0, sizeof *req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
          memset(resp, 0, sizeof *resp);
          resp->id = req->id;
          if (__atomic_load_n(&sh->phase, __ATOMIC_SEQ_CST) == PH_SETUP) {
            resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
          } else {
            int i = __atomic_load_n(&sh->cur, __ATOMIC_SEQ_CST);
            const struct probe *p = &probes[i];
            unsigned want_arch = p->abi == ABI_I386 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
            if ((uint32_t)req->data.nr != p->nr || req->data.arch != want_arch) {
              res[i].state = ST_ERROR;
              snprintf(res[i].err, sizeof res[i].err, "notified nr %d arch %x", req->data.nr, req->data.arch);
            } else {
              res[i].state = ST_NOTIFIED;
            }
            resp->val = MAGIC;
          }
          ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp); /* fails harmlessly if the caller is gone */
        }
      }
      int phase = __atomic_load_n(&sh->phase, __ATOMIC_SEQ_CST);
      if (phase == PH_DONE) _exit(0);
      if (phase == PH_FAILED) _exit(3);
      if ((n > 0 && (pfd.revents & (POLLHUP | POLLERR))) || pthread_tryjoin_np(th, NULL) == 0) {
        /* The worker is gone: KILL_THREAD at the current probe. Its phase is read again: the
         * worker may have stored PH_PROBING and died on its first probe after the read above. */
        int i = __atomic_load_n(&sh->cur, __ATOMIC_SEQ_CST);
        phase = __atomic_load_n(&sh->phase, __ATOMIC_SEQ_CST);
        if (phase != PH_PROBING) _exit(5);
        res[i].state = ST_KILL_THREAD;
        idx = i + 1;
        pthread_join(th, NULL);
        close(fd);
        break;
      }
    }
  }
  _exit(0);
}

static int parse_abi(const char *s) {
  if (!strcmp(s, "x86_64")) return ABI_X86_64;
  if (!strcmp(s, "i386")) return ABI_I386;
  return -1;
}

static void add_probe(int abi, uint32_t nr, const uint64_t *args) {
  static int cap;
  if (nprobes == cap) {
    cap = cap ? cap * 2 : 4096;
    probes = realloc(probes, cap * sizeof *probes);
    if (!probes) die("realloc");
  }
  struct probe *p = &probes[nprobes++];
  memset(p, 0, sizeof *p);
  p->abi = abi;
  p->nr = nr;
  if (args) memcpy(p->args, args, sizeof p->args);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FILTER [PROBES]\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  static struct sock_filter insns[4097];
  size_t n = fread(insns, sizeof insns[0], 4097, f);
  fclose(f);
  test_prog.len = (unsigned short)n;
  test_prog.filter = insns;
  if (n == 0 || n > 4096) {
    printf("rejected %d\n", EINVAL);
    return 3;
  }

  if (argc == 3) {
    FILE *pf = fopen(argv[2], "r");
    if (!pf) die(argv[2]);
    char line[512];
    while (fgets(line, sizeof line, pf)) {
      char *save = NULL;
      char *tok = strtok_r(line, " \t\n", &save);
      if (!tok) continue;
      int a = parse_abi(tok);
      if (a < 0) {
        fprintf(stderr, "bad abi %s\n", tok);
        return 2;
      }
      unsigned long long v[7] = {0};
      for (int i = 0; i < 7 && (tok = strtok_r(NULL, " \t\n", &save)); i++) v[i] = strtoull(tok, NULL, 0);
      uint64_t args[6];
      for (int i = 0; i < 6; i++) args[i] = v[i + 1];
      add_probe(a, (uint32_t)v[0], args);
    }
    fclose(pf);
  } else {
    for (uint32_t nr = 0; nr <= 1100; nr++) add_probe(ABI_X86_64, nr, NULL);
    for (uint32_t nr = 0; nr <= 1100; nr++) add_probe(ABI_X86_64, nr | 0x40000000u, NULL);
    for (uint32_t nr = 0; nr <= 1100; nr++) add_probe(ABI_I386, nr, NULL);
    add_probe(ABI_X86_64, 0xffffffffu, NULL);
  }

  size_t size = sizeof(struct shared) + (size_t)nprobes * sizeof(struct result);
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  sh = mem;
  res = (struct result *)((char *)mem + sizeof(struct shared));
  for (int i = 0; i < nprobes; i++) {
    if (probes[i].abi == ABI_X86_64 && (probes[i].nr == 335 || probes[i].nr == 336)) res[i].state = ST_SKIPPED;
  }

  int start = 0;
  while (start < nprobes) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) run_child(start);
    int st;
    if (waitpid(pid, &st, 0) < 0) die("waitpid");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) break;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
      printf("rejected %d\n", sh->setup_errno);
      return 3;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS && sh->phase == PH_PROBING) {
      res[sh->cur].state = ST_KILL_PROCESS;
      start = sh->cur + 1;
      continue;
    }
    fprintf(stderr, "child failed: status 0x%x phase %d probe %d\n", st, sh->phase, sh->cur);
    return 4;
  }

  for (int i = 0; i < nprobes; i++) {
    const struct probe *p = &probes[i];
    const struct result *r = &res[i];
    printf("%s %u ", p->abi == ABI_I386 ? "i386" : "x86_64", p->nr);
    switch (r->state) {
      case ST_NOTIFIED: puts("allow"); break;
      case ST_RETURNED:
        if (r->ret <= 0 && r->ret >= -4095) printf("errno %lld\n", (long long)-r->ret);
        else printf("error returned %lld\n", (long long)r->ret);
        break;
      case ST_TRAPPED: printf("trap %d\n", r->data); break;
      case ST_KILL_THREAD: puts("kill-thread"); break;
      case ST_KILL_PROCESS: puts("kill-process"); break;
      case ST_SKIPPED: puts("skipped"); break;
      case ST_ERROR: printf("error %s\n", r->err); break;
      default: puts("error no result"); break;
    }
  }
  return 0;
}
