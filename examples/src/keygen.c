/* A key-generation app that takes its seed from getentropy(): fine on a Linux host, but
 * CodeSafe 5 never allows getrandom, so getentropy fails with ENOSYS from firmware 13.7 and
 * raises SIGSYS (the app dies) before 13.7. Fix: read /dev/urandom, or link the sysgate shim. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
  unsigned char seed[32];
  if (getentropy(seed, sizeof seed) != 0) {
    perror("getentropy");
    return 1;
  }
  for (size_t i = 0; i < sizeof seed; i++)
    printf("%02x", seed[i]);
  printf("\n");
  return 0;
}
