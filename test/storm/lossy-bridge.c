/*
 * Lossy, delaying Ethernet bridge between two TAP devices: the stand-in for
 * `tc qdisc add dev X root netem loss L% delay D jitter J` on kernels without sch_netem (this CI kernel has no
 * modules at all). Each frame, either direction, is dropped with probability LOSS_PERCENT/100; a kept frame leaves
 * DELAY_US +- JITTER_US (uniform) after it arrived, so jitter larger than the gap between two frames reorders them,
 * as netem's jitter does. Written in C because the boot storm pushes hundreds of MB through it (the Python bridge
 * test/tftp/lossy-bridge.py tops out far below that).
 *
 * Usage: lossy-bridge TAP_A TAP_B LOSS_PERCENT DELAY_US JITTER_US SEED
 * Prints "ready" once both TAPs exist; runs until SIGTERM/SIGINT, then prints one JSON line of counters on stdout.
 * Bounded: at most QCAP frames wait per direction (a full queue drops, like a full qdisc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOT 2048
#define QCAP 8192

struct item { uint64_t due; uint64_t seq; uint16_t len; uint16_t slot; };
struct queue {
  struct item heap[QCAP];
  int n;
  uint16_t free_slots[QCAP];
  int nfree;
  unsigned char *buf;
};

static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int s) { (void)s; stop_flag = 1; }

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}
static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int tap_open(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  if (fd < 0) { perror("open /dev/net/tun"); exit(2); }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(2); }
  return fd;
}

static int before(const struct item *a, const struct item *b) { return a->due < b->due || (a->due == b->due && a->seq < b->seq); }

static void q_init(struct queue *q) {
  q->n = 0;
  q->nfree = QCAP;
  for (int i = 0; i < QCAP; i++) q->free_slots[i] = (uint16_t)(QCAP - 1 - i);
  q->buf = malloc((size_t)QCAP * SLOT);
  if (!q->buf) { perror("malloc"); exit(2); }
}

static void q_push(struct queue *q, struct item it) {
  int i = q->n++;
  q->heap[i] = it;
  while (i > 0) {
    int p = (i - 1) / 2;
    if (!before(&q->heap[i], &q->heap[p])) break;
    struct item t = q->heap[p]; q->heap[p] = q->heap[i]; q->heap[i] = t;
    i = p;
  }
}

static struct item q_pop(struct queue *q) {
  struct item top = q->heap[0];
  q->heap[0] = q->heap[--q->n];
  int i = 0;
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < q->n && before(&q->heap[l], &q->heap[m])) m = l;
    if (r < q->n && before(&q->heap[r], &q->heap[m])) m = r;
    if (m == i) break;
    struct item t = q->heap[m]; q->heap[m] = q->heap[i]; q->heap[i] = t;
    i = m;
  }
  return top;
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: %s TAP_A TAP_B LOSS_PERCENT DELAY_US JITTER_US SEED\n", argv[0]); return 2; }
  int fds[2] = { tap_open(argv[1]), tap_open(argv[2]) };
  double loss = atof(argv[3]) / 100.0;
  uint64_t delay = (uint64_t)atoll(argv[4]) * 1000ULL, jitter = (uint64_t)atoll(argv[5]) * 1000ULL;
  if (jitter > delay) jitter = delay;
  rng_state = (uint64_t)atoll(argv[6]) * 0x9E3779B97F4A7C15ULL + 1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  static struct queue qs[2]; /* qs[i]: frames waiting to be written to fds[i] */
  q_init(&qs[0]);
  q_init(&qs[1]);
  uint64_t seq = 0, forwarded = 0, dropped = 0, overflow = 0, frames = 0;
  unsigned char scratch[SLOT];
  printf("ready\n");
  fflush(stdout);
  while (!stop_flag) {
    uint64_t t = now_ns();
    /* Write every frame that is due. */
    for (int d = 0; d < 2; d++) {
      struct queue *q = &qs[d];
      while (q->n > 0 && q->heap[0].due <= t) {
        struct item it = q_pop(q);
        ssize_t w = write(fds[d], q->buf + (size_t)it.slot * SLOT, it.len);
        (void)w; /* a TAP whose link is down yet refuses: the frame is lost, as on a wire */
        q->free_slots[q->nfree++] = it.slot;
        forwarded++;
      }
    }
    uint64_t next = UINT64_MAX;
    for (int d = 0; d < 2; d++) if (qs[d].n > 0 && qs[d].heap[0].due < next) next = qs[d].heap[0].due;
    struct timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > t ? next - t : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ULL);
      ts.tv_nsec = (long)(wait % 1000000000ULL);
      tsp = &ts;
    }
    struct pollfd pfd[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
    int r = ppoll(pfd, 2, tsp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("ppoll");
      return 1;
    }
    t = now_ns();
    for (int s = 0; s < 2; s++) {
      if (!(pfd[s].revents & POLLIN)) continue;
      struct queue *q = &qs[1 - s];
      for (int k = 0; k < 256; k++) { /* bounded burst per wake-up */
        ssize_t n = read(fds[s], scratch, SLOT);
        if (n <= 0) break;
        frames++;
        if (rnd01() < loss) { dropped++; continue; }
        if (delay == 0) {
          ssize_t w = write(fds[1 - s], scratch, (size_t)n);
          (void)w;
          forwarded++;
          continue;
        }
        if (q->nfree == 0) { overflow++; continue; }
        uint64_t due = t + delay - jitter + (jitter ? rnd() % (2 * jitter + 1) : 0);
        uint16_t slot = q->free_slots[--q->nfree];
        memcpy(q->buf + (size_t)slot * SLOT, scratch, (size_t)n);
        q_push(q, (struct item){ due, seq++, (uint16_t)n, slot });
      }
    }
  }
  printf("{\"frames\":%llu,\"forwarded\":%llu,\"dropped\":%llu,\"overflow\":%llu}\n", (unsigned long long)frames,
         (unsigned long long)forwarded, (unsigned long long)dropped, (unsigned long long)overflow);
  fflush(stdout);
  return 0;
}
