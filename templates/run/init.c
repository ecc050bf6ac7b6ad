/*
 * sysgate run: /init of the guest that runs an ARM or AArch64 program in a real kernel
 * (qemu-system). Built static for the guest (<triplet>-gcc -static) and put in the initramfs with
 * /supervise, /filter, /args (the program's argv, NUL-separated; argv[0] is its path here), the
 * program, its interpreter and libraries, the files its arguments name, and optionally /stdin and
 * /cwd (the directory to run it in: the host's, so that relative names in its arguments work).
 *
 * It mounts proc, devtmpfs and sysfs, runs `/supervise /filter /report -- ARGV...` with the
 * program's stdout in /out1 and stderr in /out2, then writes the three files hex-encoded to the
 * console between markers (so kernel messages and the report cannot mix with the program's
 * output), and powers the machine off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

static void dump(const char *name) {
  int fd = open(name, O_RDONLY | O_CLOEXEC);
  char line[160];
  if (fd < 0) { snprintf(line, sizeof line, "@@SYSGATE-FILE %s -1@@\n", name + 1); say(line); return; }
  struct stat st;
  fstat(fd, &st);
  snprintf(line, sizeof line, "@@SYSGATE-FILE %s %lld@@\n", name + 1, (long long)st.st_size);
  say(line);
  static const char hex[] = "0123456789abcdef";
  unsigned char buf[64];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    char out[sizeof buf * 2 + 2];
    for (ssize_t i = 0; i < n; i++) { out[2 * i] = hex[buf[i] >> 4]; out[2 * i + 1] = hex[buf[i] & 15]; }
    out[2 * n] = '\n';
    (void)!write(1, out, (size_t)(2 * n + 1));
  }
  close(fd);
}

static char **read_args(void) {
  static char buf[65536];
  int fd = open("/args", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0) return NULL;
  buf[n] = 0;
  int count = 0;
  for (ssize_t i = 0; i < n; i++) if (buf[i] == 0) count++;
  char **argv = calloc((size_t)count + 6, sizeof *argv);
  int k = 0;
  argv[k++] = "/supervise"; argv[k++] = "/filter"; argv[k++] = "/report"; argv[k++] = "--";
  for (char *p = buf; p < buf + n; p += strlen(p) + 1) argv[k++] = p;
  argv[k] = NULL;
  return argv;
}

int main(void) {
  mkdir("/proc", 0555); mkdir("/dev", 0755); mkdir("/sys", 0555); mkdir("/tmp", 01777);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  char **argv = read_args();
  int status = -1;
  if (!argv) {
    say("sysgate-init: no /args\n");
  } else {
    pid_t pid = fork();
    if (pid == 0) {
      char cwd[4096];
      int cf = open("/cwd", O_RDONLY | O_CLOEXEC);
      ssize_t cn = cf < 0 ? -1 : read(cf, cwd, sizeof cwd - 1);
      if (cn > 0) { cwd[cn] = 0; if (chdir(cwd) != 0) chdir("/"); }
      int in = open(access("/stdin", F_OK) == 0 ? "/stdin" : "/dev/null", O_RDONLY);
      int o1 = open("/out1", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int o2 = open("/out2", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0); dup2(o1, 1); dup2(o2, 2);
      char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/", "LANG=C", NULL };
      execve(argv[0], argv, envp);
      _exit(126);
    }
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  }
  char line[96];
  say("\n@@SYSGATE-BEGIN@@\n");
  snprintf(line, sizeof line, "@@SYSGATE-STATUS %d@@\n", status);
  say(line);
  dump("/out1");
  dump("/out2");
  dump("/report");
  say("@@SYSGATE-END@@\n");
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
