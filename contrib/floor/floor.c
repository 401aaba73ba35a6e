// floor: the least a TCP proxy can do for a proxied WebSocket, as a yardstick
// for wsproxy, nginx and HAProxy (BENCHMARKS.md, "The floor").
//
// PROCS processes share one listening socket, each with its own epoll loop
// (the listener added with EPOLLEXCLUSIVE, as nginx without reuseport). Per
// client: accept4, socket + non-blocking connect to the next backend (round
// robin), TCP_NODELAY on the client, both sockets level-triggered EPOLLIN;
// whatever one side sends is copied to the other with one recv and one send;
// EOF, an error or a short send closes both. No HTTP parsing, no header
// rewriting, no timers, no buffer kept between events, no back-pressure: it
// is not a proxy to use, only the system calls every proxy makes, so that
// its CPU per handshake and per message is the kernel's share of that work.
//
// usage: floor LISTEN_ADDR:PORT PROCS BACKEND_ADDR:PORT...
// It prints "listen ADDR:PORT" once bound (port 0 picks one) and runs
// until killed; the processes leave with their parent's death.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"

#define MAXFD 65536
#define MAXBACKENDS 64

static int peer[MAXFD]; // the other side of each open descriptor, -1: none

static void closeboth(int fd, int o) {
	close(fd);
	close(o);
	peer[fd] = peer[o] = -1;
}

static void run(int l, struct sockaddr_in *backends, int nb) {
	int one = 1, next = 0;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = l};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev)) { perror("epoll"); exit(1); }
	struct epoll_event evs[512];
	static char buf[65536];
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				for (;;) {
					int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
					if (c < 0) break;
					struct sockaddr_in *b = &backends[next++ % nb];
					int u = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
					if (c >= MAXFD || u < 0 || u >= MAXFD ||
					    (connect(u, (struct sockaddr *)b, sizeof *b) < 0 && errno != EINPROGRESS)) {
						close(c);
						if (u >= 0) close(u);
						continue;
					}
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					peer[c] = u;
					peer[u] = c;
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
					ev.data.fd = u;
					epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
				}
				continue;
			}
			int o = peer[fd];
			if (o < 0) continue; // closed earlier in this batch
			ssize_t r = recv(fd, buf, sizeof buf, 0);
			if (r < 0 && errno == EAGAIN) continue;
			if (r <= 0 || send(o, buf, r, MSG_NOSIGNAL) != r) closeboth(fd, o);
		}
	}
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: floor LISTEN_ADDR:PORT PROCS BACKEND_ADDR:PORT...\n");
		return 2;
	}
	struct sockaddr_in la, backends[MAXBACKENDS];
	int procs = atoi(argv[2]), nb = argc - 3;
	if (parse(argv[1], &la) || procs < 1 || nb > MAXBACKENDS) {
		fprintf(stderr, "floor: bad arguments\n");
		return 2;
	}
	for (int i = 0; i < nb; i++)
		if (parse(argv[3 + i], &backends[i])) {
			fprintf(stderr, "floor: bad backend %s\n", argv[3 + i]);
			return 2;
		}
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	socklen_t alen = sizeof la;
	if (bind(l, (struct sockaddr *)&la, sizeof la) || listen(l, 4096) ||
	    getsockname(l, (struct sockaddr *)&la, &alen)) {
		perror("floor: listen");
		return 1;
	}
	for (int i = 0; i < MAXFD; i++) peer[i] = -1;
	for (int i = 0; i < procs; i++)
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1) _exit(1);
			run(l, backends, nb);
		}
	char host[INET_ADDRSTRLEN];
	printf("listen %s:%d\n", inet_ntop(AF_INET, &la.sin_addr, host, sizeof host), ntohs(la.sin_port));
	fflush(stdout);
	while (wait(NULL) > 0) {}
	return 0;
}
