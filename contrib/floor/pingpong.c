// pingpong: the wake-up of an idle event loop, measured (BENCHMARKS.md, "The
// floor"). "pingpong serve" is a C echo of one TCP connection on epoll (the
// floor's loop); "pingpong client" sends one byte at a time to an echo (this
// one, or contrib/floor/pingpong's on wsproxy's poller), waits GAP_US
// between round trips so that the echo's loop is idle when each byte comes,
// and prints the round trips' p50, p90 and p99.
//
// usage: pingpong serve ADDR:PORT          (port 0 picks one; prints "listen ADDR:PORT")
//        pingpong client ADDR:PORT N GAP_US
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"

static int serve(struct sockaddr_in *a) {
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t alen = sizeof *a;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(l, (struct sockaddr *)a, sizeof *a) || listen(l, 16) || getsockname(l, (struct sockaddr *)a, &alen)) {
		perror("pingpong: listen");
		return 1;
	}
	char host[INET_ADDRSTRLEN];
	printf("listen %s:%d\n", inet_ntop(AF_INET, &a->sin_addr, host, sizeof host), ntohs(a->sin_port));
	fflush(stdout);
	int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	if (c < 0) return 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = c}, evs[8];
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
	char buf[4096];
	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);
		for (int i = 0; i < n; i++) {
			ssize_t r = recv(c, buf, sizeof buf, 0);
			if (r == 0) return 0;
			if (r > 0 && send(c, buf, r, MSG_NOSIGNAL) != r) return 1;
		}
	}
}

static int cmp(const void *x, const void *y) {
	long a = *(const long *)x, b = *(const long *)y;
	return a < b ? -1 : a > b;
}

static long now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int client(struct sockaddr_in *a, int n, int gap) {
	int one = 1, c = socket(AF_INET, SOCK_STREAM, 0);
	if (n < 1 || connect(c, (struct sockaddr *)a, sizeof *a)) {
		perror("pingpong: connect");
		return 1;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	long *d = malloc(n * sizeof *d);
	char b = 1;
	for (int i = 0; i < n; i++) {
		if (gap) usleep(gap);
		long t = now();
		if (send(c, &b, 1, 0) != 1 || recv(c, &b, 1, 0) != 1) {
			fprintf(stderr, "pingpong: round trip %d failed\n", i);
			return 1;
		}
		d[i] = now() - t;
	}
	qsort(d, n, sizeof *d, cmp);
	printf("round trips %d  p50 %.1f us  p90 %.1f us  p99 %.1f us\n", n, d[n / 2] / 1e3, d[n * 9 / 10] / 1e3, d[n * 99 / 100] / 1e3);
	return 0;
}

int main(int argc, char **argv) {
	struct sockaddr_in a;
	if (argc == 3 && !strcmp(argv[1], "serve") && !parse(argv[2], &a)) return serve(&a);
	if (argc == 5 && !strcmp(argv[1], "client") && !parse(argv[2], &a)) return client(&a, atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: pingpong serve ADDR:PORT | pingpong client ADDR:PORT N GAP_US\n");
	return 2;
}
