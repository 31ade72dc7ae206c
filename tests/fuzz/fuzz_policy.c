// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_policy.c - libFuzzer target for the forward proxy's policy parsers.
 * The first byte picks one: 'c' a CIDR (one that parses formats and re-parses
 * to itself and contains its own network address), 'b' a block list file
 * (every line it accepted is then blocked, in any case), 'u' a users file,
 * 'a' Basic credentials (the name never holds ':' or a control character),
 * 'r' an access rule "client\ndest" (built rules are checked without
 * crashing). Files go through a memfd, as the loaders take paths.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "forward/policy.h"

static void fuzz_cidr(const char *in)
{
	struct sockaddr_storage ss = {0};
	char text[INET6_ADDRSTRLEN + 8];
	struct rp_cidr c, d;

	if (rp__cidr_parse(in, &c) < 0)
		return;
	if ((c.family == AF_INET && c.prefix > 32) || c.prefix > 128)
		abort();
	if (!inet_ntop(c.family, c.addr, text, INET6_ADDRSTRLEN))
		abort();
	snprintf(text + strlen(text), 8, "/%u", c.prefix);
	if (rp__cidr_parse(text, &d) < 0 || memcmp(&c, &d, sizeof(c)))
		abort();
	if (c.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, c.addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, c.addr, 16);
	}
	if (!rp__cidr_match(&c, (struct sockaddr *)&ss))
		abort();
	rp__ssrf_class((struct sockaddr *)&ss);
}

/* A path naming @len bytes of @data, or NULL. */
static int memfd_path(const char *data, size_t len, char *path, size_t cap)
{
	int fd = memfd_create("fuzz_policy", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

static void fuzz_blocklist(const char *in, size_t len)
{
	struct rp_blocklist *b;
	char path[64], err[256];
	char *copy, *line, *save = NULL;
	int fd = memfd_path(in, len, path, sizeof(path));

	if (fd < 0)
		return;
	if (rp__blocklist_load(path, &b, err, sizeof(err)) < 0) {
		close(fd);
		return;
	}
	close(fd);
	copy = strdup(in);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *end;

		if (hash)
			*hash = '\0';
		while (*line == ' ' || *line == '\t' || *line == '\r')
			line++;
		end = line + strlen(line);
		while (end > line &&
		       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*line)
			continue;
		if (!rp__blocklist_match(b, line))
			abort();
		for (char *p = line; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		if (!rp__blocklist_match(b, line))
			abort();
	}
	free(copy);
	rp__blocklist_free(b);
}

static void fuzz_users(const char *in, size_t len)
{
	struct rp_users *u;
	char path[64], err[256];
	int fd = memfd_path(in, len, path, sizeof(path));

	if (fd < 0)
		return;
	if (rp__users_load(path, &u, err, sizeof(err)) == 0) {
		size_t lines = 1;

		for (size_t i = 0; i < len; i++)
			lines += in[i] == '\n';
		if (rp__users_size(u) > lines)
			abort();
		rp__users_free(u);
	}
	close(fd);
}

static void fuzz_basic(const char *in, size_t len)
{
	char user[64], pass[64];

	if (rp__basic_auth_decode(in, len, user, sizeof(user), pass, sizeof(pass)) < 0)
		return;
	if (strlen(user) >= sizeof(user) || strlen(pass) >= sizeof(pass) ||
	    strchr(user, ':'))
		abort();
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

static void fuzz_rule(const char *in)
{
	static const char *const hosts[] = {"a.example.com", "EXAMPLE.com.", "x", NULL};
	struct rp_acl_rule r = {.deny = true};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	const char *nl = strchr(in, '\n'), *why;
	struct rp_acl *a;
	char err[256];

	if (!nl || (size_t)(nl - in) >= sizeof(r.client) ||
	    strlen(nl + 1) >= sizeof(r.dest))
		return;
	memcpy(r.client, in, (size_t)(nl - in));
	strcpy(r.dest, nl + 1);
	if (rp__acl_build(&r, 1, &a, err, sizeof(err)) < 0)
		return;
	s4.sin_addr.s_addr = htonl(0x0a000001);
	s6.sin6_addr.s6_addr[15] = 1;
	for (unsigned i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		rp__acl_check(a, (struct sockaddr *)&s4, hosts[i], (struct sockaddr *)&s6,
			      443, &why);
		if (rp__acl_check(a, NULL, hosts[i], NULL, 80, &why) == RP_ACL_DENY &&
		    !why)
			abort();
	}
	rp__acl_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;

	if (size < 1 || size > 4096)
		return 0;
	in = malloc(size);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	/* Text parsers: stop at the first NUL like a C string would. */
	size = strlen(in);
	switch (data[0]) {
	case 'c':
		fuzz_cidr(in);
		break;
	case 'b':
		fuzz_blocklist(in, size);
		break;
	case 'u':
		fuzz_users(in, size);
		break;
	case 'a':
		fuzz_basic(in, size);
		break;
	case 'r':
		fuzz_rule(in);
		break;
	}
	free(in);
	return 0;
}
