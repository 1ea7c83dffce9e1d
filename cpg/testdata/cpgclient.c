/* A libcpg client for the library-side tests: built against the installed
 * libcpg.so.4 with the few declarations it needs written out here (the
 * corosync headers are not installed). It joins GROUP, multicasts "hello-cpg",
 * waits for its own message, asks for the membership, runs the command given
 * as third argument (e.g. corosync-cpgtool) while joined, leaves, waits for
 * the leave and finalizes, printing each callback and result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/uio.h>

typedef uint64_t cpg_handle_t;
struct cpg_name { uint32_t length; char value[128]; };
struct cpg_address { uint32_t nodeid; uint32_t pid; uint32_t reason; };
typedef void (*deliver_fn)(cpg_handle_t, const struct cpg_name *, uint32_t, uint32_t, void *, size_t);
typedef void (*confchg_fn)(cpg_handle_t, const struct cpg_name *,
			   const struct cpg_address *, size_t,
			   const struct cpg_address *, size_t,
			   const struct cpg_address *, size_t);
typedef struct { deliver_fn deliver; confchg_fn confchg; } cpg_callbacks_t;

int cpg_initialize(cpg_handle_t *, cpg_callbacks_t *);
int cpg_finalize(cpg_handle_t);
int cpg_fd_get(cpg_handle_t, int *);
int cpg_dispatch(cpg_handle_t, int);
int cpg_join(cpg_handle_t, const struct cpg_name *);
int cpg_leave(cpg_handle_t, const struct cpg_name *);
int cpg_mcast_joined(cpg_handle_t, int, const struct iovec *, unsigned int);
int cpg_membership_get(cpg_handle_t, struct cpg_name *, struct cpg_address *, int *);
int cpg_local_get(cpg_handle_t, unsigned int *);

#define CS_OK 1
#define CPG_TYPE_AGREED 2
#define CS_DISPATCH_ALL 2

static int delivered, joined, left;

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid,
		    uint32_t pid, void *msg, size_t len)
{
	printf("DELIVER %.*s from %u/%u: %.*s\n", (int)g->length, g->value, nodeid,
	       pid == (uint32_t)getpid() ? 0 : pid, (int)len, (char *)msg);
	delivered = 1;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g,
		    const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl,
		    const struct cpg_address *j, size_t nj)
{
	printf("CONFCHG %.*s members %zu left %zu joined %zu", (int)g->length, g->value, nm, nl, nj);
	if (nl > 0)
		printf(" left-reason %u", l[0].reason);
	if (nj > 0)
		printf(" joined-reason %u", j[0].reason);
	printf("\n");
	if (nj > 0) joined = 1;
	if (nl > 0) left = 1;
}

static int wait_for(cpg_handle_t h, int fd, int *flag)
{
	int i;
	for (i = 0; i < 100 && !*flag; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			cpg_dispatch(h, CS_DISPATCH_ALL);
	}
	return *flag;
}

int main(int argc, char **argv)
{
	cpg_handle_t h;
	cpg_callbacks_t cb = { deliver, confchg };
	struct cpg_name g;
	struct cpg_address members[64];
	int n = 64, fd, rc;
	unsigned int local;
	struct iovec iov = { .iov_base = "hello-cpg", .iov_len = 9 };

	if (argc < 2) return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((rc = cpg_initialize(&h, &cb)) != CS_OK) { printf("initialize %d\n", rc); return 1; }
	cpg_local_get(h, &local);
	printf("local %u\n", local);
	g.length = strlen(argv[1]);
	memcpy(g.value, argv[1], g.length);
	printf("join %d\n", cpg_join(h, &g));
	printf("join again %d\n", cpg_join(h, &g));
	cpg_fd_get(h, &fd);
	if (!wait_for(h, fd, &joined)) { printf("no join confchg\n"); return 1; }
	printf("mcast %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1));
	if (!wait_for(h, fd, &delivered)) { printf("no delivery\n"); return 1; }
	rc = cpg_membership_get(h, &g, members, &n);
	printf("membership %d count %d node %u self %d\n", rc, n, n > 0 ? members[0].nodeid : 0,
	       n > 0 && members[0].pid == (uint32_t)getpid());
	if (argc > 2) {
		fflush(stdout);
		if (system(argv[2]) != 0) printf("command failed\n");
	}
	printf("leave %d\n", cpg_leave(h, &g));
	if (!wait_for(h, fd, &left)) { printf("no leave confchg\n"); return 1; }
	printf("finalize %d\n", cpg_finalize(h));
	return 0;
}
