/* The machine's lock-step ceiling: one datagram out, one 4-byte reply back, nothing else (no file, no protocol).
 * pingpong ack PORT                      -- replies 4 bytes to every datagram (the "client")
 * pingpong send HOST PORT SIZE SECONDS   -- prints "<round trips> <seconds>" (the "server") */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  char buf[65536];
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  if (argc == 3 && strcmp(argv[1], "ack") == 0) {
    a.sin_port = htons(atoi(argv[2]));
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
    struct timeval tv = {30, 0}; /* bounded: exits after 30 s of silence */
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (n < 0) return 0;
      sendto(s, buf, 4, 0, (struct sockaddr *)&from, fl);
    }
  }
  if (argc == 6 && strcmp(argv[1], "send") == 0) {
    a.sin_port = htons(atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    int size = atoi(argv[4]);
    double secs = atof(argv[5]);
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(buf, 0x5a, sizeof buf);
    long rt = 0;
    double t0 = now(), t;
    while ((t = now()) - t0 < secs) {
      sendto(s, buf, size, 0, (struct sockaddr *)&a, sizeof a);
      if (recv(s, buf, sizeof buf, 0) == 4) rt++;
    }
    printf("%ld %f\n", rt, t - t0);
    return 0;
  }
  fprintf(stderr, "usage: pingpong ack PORT | pingpong send HOST PORT SIZE SECONDS\n");
  return 2;
}
