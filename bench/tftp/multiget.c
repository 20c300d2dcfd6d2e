/* N concurrent lock-step TFTP reads (RFC 1350 + blksize, RFC 2348) from one process with epoll: a client that
 * costs a few microseconds per block, so the server, not 50 client processes, is what the case measures.
 * multiget HOST FILE N BLKSIZE SIZE  -- prints "<transfers ok> <bytes> <seconds>"; exit 1 if any read failed.
 * Every read must deliver SIZE bytes. Bounded: re-sends its last packet after 500 ms of silence, gives up a read
 * after 10 silent rounds, and the whole run after 120 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rd {
  int fd;
  struct sockaddr_in peer; /* port 69 until the server's first reply, then its TID */
  unsigned char last[600];
  size_t lastLen;
  unsigned expect; /* next DATA block (absolute) */
  long bytes;
  double lastRx;
  int silent, done, failed;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sendLast(struct rd *r) {
  sendto(r->fd, r->last, r->lastLen, 0, (struct sockaddr *)&r->peer, sizeof r->peer);
}

static void ack(struct rd *r, unsigned block) {
  r->last[0] = 0;
  r->last[1] = 4;
  r->last[2] = (block >> 8) & 0xff;
  r->last[3] = block & 0xff;
  r->lastLen = 4;
  sendLast(r);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: multiget HOST FILE N BLKSIZE SIZE\n");
    return 2;
  }
  int n = atoi(argv[3]), blksize = atoi(argv[4]);
  long size = atol(argv[5]);
  struct rd *rs = calloc(n, sizeof *rs);
  int ep = epoll_create1(0);
  unsigned char buf[65536];
  double t0 = now();
  for (int i = 0; i < n; i++) {
    struct rd *r = &rs[i];
    r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    r->peer.sin_family = AF_INET;
    r->peer.sin_port = htons(69);
    inet_pton(AF_INET, argv[1], &r->peer.sin_addr);
    r->lastLen = (size_t)snprintf((char *)r->last + 2, sizeof r->last - 2, "%s%coctet%cblksize%c%d", argv[2], 0, 0, 0, blksize) + 3;
    r->last[0] = 0;
    r->last[1] = 1;
    r->expect = 1;
    r->lastRx = t0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev);
    sendLast(r);
  }
  int left = n;
  struct epoll_event evs[64];
  while (left > 0 && now() - t0 < 120) {
    int k = epoll_wait(ep, evs, 64, 100);
    for (int e = 0; e < k; e++) {
      struct rd *r = &rs[evs[e].data.u32];
      for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t len = recvfrom(r->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (len < 0) break;
        if (r->done || len < 4) continue;
        if (r->expect == 1 && r->bytes == 0) r->peer.sin_port = from.sin_port; /* the server's TID */
        else if (from.sin_port != r->peer.sin_port) continue;
        unsigned op = (buf[0] << 8) | buf[1], blk = (buf[2] << 8) | buf[3];
        r->lastRx = now();
        r->silent = 0;
        if (op == 6) { /* OACK */
          if (r->expect == 1 && r->bytes == 0) ack(r, 0);
        } else if (op == 3) { /* DATA */
          if (blk == (r->expect & 0xffff)) {
            r->bytes += len - 4;
            ack(r, blk);
            r->expect++;
            if (len - 4 < blksize) {
              r->done = 1;
              r->failed = r->bytes != size;
              left--;
            }
          } else if (blk == ((r->expect - 1) & 0xffff)) {
            ack(r, blk); /* duplicate: our ACK was lost */
          }
        } else if (op == 5) {
          r->done = r->failed = 1;
          left--;
        }
      }
    }
    double t = now();
    for (int i = 0; i < n; i++) {
      struct rd *r = &rs[i];
      if (r->done || t - r->lastRx < 0.5) continue;
      if (++r->silent > 10) {
        r->done = r->failed = 1;
        left--;
        continue;
      }
      r->lastRx = t;
      sendLast(r);
    }
  }
  double secs = now() - t0;
  int ok = 0;
  long bytes = 0;
  for (int i = 0; i < n; i++) {
    if (rs[i].done && !rs[i].failed) ok++;
    bytes += rs[i].bytes;
    close(rs[i].fd);
  }
  printf("%d %ld %.6f\n", ok, bytes, secs);
  return ok == n ? 0 : 1;
}
