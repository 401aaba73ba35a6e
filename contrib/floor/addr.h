// addr.h: what floor.c and pingpong.c share, parsing "ADDR:PORT" (IPv4).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

// parse fills a from "ADDR:PORT"; it returns 0, or -1 for anything else.
static int parse(const char *s, struct sockaddr_in *a) {
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || colon - s >= (long)sizeof host) return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_port = htons(atoi(colon + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}
