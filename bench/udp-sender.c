/* A UDP sender for the live-collector benchmark (not the collector, not Node): sends the datagram
 * in FILE to HOST:PORT at PPS datagrams per second for SECONDS, with sendmmsg in bursts. When the
 * datagram is NetFlow v5, the flow_sequence field (offset 16) is advanced by the record count per
 * datagram so the collector's sequence accounting sees an unbroken stream.
 * Build: gcc -O2 -o udp-sender udp-sender.c
 * Usage: udp-sender FILE HOST PORT PPS SECONDS   (prints: sent=N seconds=S) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BURST 32

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s FILE HOST PORT PPS SECONDS\n", argv[0]);
    return 64;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 66; }
  static unsigned char proto[65536];
  size_t len = fread(proto, 1, sizeof proto, f);
  fclose(f);
  double pps = atof(argv[4]), seconds = atof(argv[5]);
  struct sockaddr_in dst = {0};
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 64; }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) { perror("socket"); return 69; }
  int v5 = len >= 24 && proto[0] == 0 && proto[1] == 5;
  uint32_t count = v5 ? (proto[2] << 8 | proto[3]) : 0;
  uint32_t seq = 0;
  static unsigned char bufs[BURST][65536];
  struct mmsghdr msgs[BURST];
  struct iovec iov[BURST];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BURST; i++) {
    memcpy(bufs[i], proto, len);
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &dst;
    msgs[i].msg_hdr.msg_namelen = sizeof dst;
  }
  long total = (long)(pps * seconds), sent = 0;
  double start = now();
  while (sent < total) {
    /* pace: how many should have gone by now */
    double due = (now() - start) * pps;
    if (sent >= due) {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
      continue;
    }
    int n = BURST;
    if (total - sent < n) n = (int)(total - sent);
    for (int i = 0; i < n; i++) {
      if (v5) {
        bufs[i][16] = seq >> 24; bufs[i][17] = seq >> 16; bufs[i][18] = seq >> 8; bufs[i][19] = seq;
        seq += count;
      }
    }
    int r = sendmmsg(s, msgs, n, 0);
    if (r < 0) { perror("sendmmsg"); return 74; }
    sent += r;
  }
  printf("sent=%ld seconds=%.3f\n", sent, now() - start);
  return 0;
}
