/* A CodeSafe-style app that only uses calls the HSM allows from firmware 13.7:
 * file I/O, time, a pipe to a child process and formatted output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : "sensor.log";
  int fds[2];
  char line[64];
  if (pipe(fds) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    snprintf(line, sizeof line, "reading %ld\n", (long)time(NULL));
    if (write(fds[1], line, strlen(line)) < 0)
      _exit(1);
    _exit(0);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], line, sizeof line - 1);
  waitpid(child, NULL, 0);
  if (n <= 0)
    return 1;
  line[n] = '\0';
  FILE *f = fopen(path, "a");
  if (!f)
    return 1;
  fputs(line, f);
  fclose(f);
  printf("logged: %s", line);
  return 0;
}
