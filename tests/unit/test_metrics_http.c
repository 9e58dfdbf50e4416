// SPDX-License-Identifier: MIT
/* gilscope serve's endpoint (render/metrics_http.c) over plain sockets on
 * 127.0.0.1: 503 before the first frame, the frame in the format Accept
 * asks for, HEAD, 404 and 405, a new frame replacing the old, scrapes
 * racing publishes, the connection limit, and --listen's errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"
#include "render/metrics_http.h"

#define MS 1000000ull

/* ---------------------------------------------------------------- client */

struct reply {
	int status;
	char head[4096];   /* status line and headers */
	char *body;
	size_t len;
};

static int dial(int family, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = 5 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request (Connection: close), read to the end. 0 or -1. */
static int http(int family, int port, const char *method, const char *path, const char *extra, struct reply *r)
{
	char req[1024], *buf = NULL, *sep;
	size_t cap = 0, len = 0;
	ssize_t got;
	int fd = dial(family, port);

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n", method, path,
		 extra ? extra : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	do {
		if (len + 65536 > cap && !(buf = realloc(buf, cap = 2 * cap + 65536)))
			break;
		got = read(fd, buf + len, cap - len - 1);
		if (got > 0)
			len += (size_t)got;
	} while (got > 0);
	close(fd);
	if (!buf || got < 0)
		return free(buf), -1;
	buf[len] = 0;
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		return free(buf), -1;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->len = len - (size_t)(sep + 4 - buf);
	r->body = malloc(r->len + 1);
	memcpy(r->body, sep + 4, r->len);
	r->body[r->len] = 0;
	free(buf);
	return 0;
}

/* A header's value, case-insensitive name; "" if absent. */
static const char *header(const struct reply *r, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	*out = 0;
	for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			const char *v = l + 3 + n, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			break;
		}
	return out;
}

/* ----------------------------------------------------------------- frame */

static void proc(struct live_proc *p, struct py_target *pt, uint64_t held_ms)
{
	const uint64_t ns[GS_NR_TSTATES] = { [GS_HELD_ON] = held_ms * MS, [GS_NOGIL_OFF] = 100 * MS };
	struct gs_result *r = &p->cum_raw;

	memset(p, 0, sizeof(*p));
	memset(pt, 0, sizeof(*pt));
	p->pid = 321;
	snprintf(p->comm, sizeof(p->comm), "python3");
	snprintf(p->python, sizeof(p->python), "3.11.9");
	p->pt = pt;
	p->attached_real_s = 1764820000;
	r->t0 = 1000 * MS;
	r->t1 = r->t0 + 1000 * MS;
	r->ncpus = 1;
	r->cpu = calloc(1, sizeof(*r->cpu));
	r->threads = calloc(1, sizeof(*r->threads));
	r->nthreads = 1;
	r->threads[0].tid = 321;
	memcpy(r->threads[0].st.ns, ns, sizeof(ns));
	r->counters[GS_C_ACQUIRES] = 7;
	r->hist[GS_HIST_HOLD][gs_hist_slot(5 * MS)] = 7;
	CHECK(live_proc__build(p) == 0);
}

/* ------------------------------------------------------------ concurrency */


/* A request made from another thread while this one plays gilscope's
 * main loop: it renders what scrapes wait for (metrics_http__render_pending)
 * until the reply is in. */
struct fetch_job {
	int family, port;
	const char *method, *path, *extra;
	struct reply *r;
	int rc;
	volatile int done;
};

static void *fetch_thread(void *arg)
{
	struct fetch_job *j = arg;

	j->rc = http(j->family, j->port, j->method, j->path, j->extra, j->r);
	__sync_synchronize();
	j->done = 1;
	return NULL;
}

static struct metrics_http *served;   /* the server fetch renders for */

static int fetch(int family, int port, const char *method, const char *path, const char *extra, struct reply *r)
{
	struct fetch_job j = { family, port, method, path, extra, r, -1, 0 };
	pthread_t t;

	if (pthread_create(&t, NULL, fetch_thread, &j))
		return -1;
	while (!j.done) {
		metrics_http__render_pending(served);
		usleep(2000);
	}
	pthread_join(t, NULL);
	return j.rc;
}

struct race {
	int port;
	int bad, done;
};

static void *scraper(void *arg)
{
	struct race *x = arg;

	for (int i = 0; i < 150; i++) {
		struct reply r;

		if (http(AF_INET, x->port, "GET", "/metrics", NULL, &r) || r.status != 200 ||
		    !strstr(r.body, "gilscope_gil_wait_duration_seconds_sum{"))
			x->bad++;
		free(r.body);
		x->done++;
	}
	return NULL;
}

/* ------------------------------------------------------------------ main */

static void test_errors(int busy_port)
{
	static const struct { const char *spec, *says; int rc; } bad[] = {
		{ "", "empty", -EINVAL },
		{ "http", "port must be a number", -EINVAL },
		{ "65536", "port must be a number", -EINVAL },
		{ "127.0.0.1:-1", "port must be a number", -EINVAL },
		{ "::1:9100", "[ADDR]:PORT", -EINVAL },
		{ "[::1]9100", "[ADDR]:PORT", -EINVAL },
		{ ":9100", "0.0.0.0:9100", -EINVAL },
		{ "1.2.3.4.5:80", "bad address '1.2.3.4.5'", -EINVAL },
		{ "[nothost]:80", "bad address 'nothost'", -EINVAL },
		{ "192.0.2.1:0", "cannot listen: Cannot assign requested address", -EADDRNOTAVAIL },
	};
	struct metrics_http *h;
	char err[256], spec[64], want[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = (void *)1;
		err[0] = 0;
		int rc = metrics_http__start(&h, bad[i].spec, err, sizeof(err));

		CHECK_MSG(rc == bad[i].rc && !h, "%s: rc %d", bad[i].spec, rc);
		CHECK_MSG(strstr(err, bad[i].says) && !strchr(err, '\n'), "%s: \"%s\"", bad[i].spec, err);
		if (!rc)
			metrics_http__stop(h);
	}
	/* a port in use: say so, in one line */
	snprintf(spec, sizeof(spec), "%d", busy_port);
	snprintf(want, sizeof(want), "--listen %d: cannot listen: Address already in use", busy_port);
	CHECK_U64(metrics_http__start(&h, spec, err, sizeof(err)), (uint64_t)-EADDRINUSE);
	CHECK_MSG(!strncmp(err, want, strlen(want)) && !strchr(err, '\n'), "\"%s\"", err);
}

int main(void)
{
	struct metrics_http *h = NULL;
	struct py_target pt;
	struct live_proc p, *procs[1] = { &p };
	struct live_frame f = { .seq = 1, .end_real_s = 1764820001, .procs = procs, .nprocs = 1, .max_procs = 64,
				.attached_total = 1 };
	struct om_opts o = { .fmt = OM_PROMETHEUS_TEXT, .threads = true };
	struct reply r;
	char err[256], v[256];
	size_t len;
	char *want;
	int port;

	CHECK_MSG(metrics_http__start(&h, "127.0.0.1:0", err, sizeof(err)) == 0, "%s", err);
	if (!h)
		return check_summary("metrics_http");
	port = metrics_http__port(h);
	CHECK(port > 0);
	served = h;

	/* nothing published yet */
	CHECK(fetch(AF_INET, port, "GET", "/metrics", NULL, &r) == 0);
	CHECK_MSG(r.status == 503, "status %d", r.status);
	free(r.body);

	proc(&p, &pt, 400);
	metrics_http__publish(h, &f, &o);

	/* no Accept: Prometheus text, exactly what the renderer writes */
	want = openmetrics__render(&f, &o, &len);
	CHECK(fetch(AF_INET, port, "GET", "/metrics", NULL, &r) == 0);
	CHECK_MSG(r.status == 200, "status %d", r.status);
	CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "text/plain; version=0.0.4; charset=utf-8");
	CHECK(want && r.len == len && !memcmp(r.body, want, len));
	CHECK(r.body && strstr(r.body, "gilscope_gil_held_seconds_total{pid=\"321\",comm=\"python3\","
				       "python_version=\"3.11.9\",container=\"\"} 0.4\n"));
	CHECK(r.body && strstr(r.body, "gilscope_thread_state_seconds_total{"));   /* threads: on */
	free(r.body);
	free(want);

	/* Prometheus's own Accept header: OpenMetrics */
	o.fmt = OM_OPENMETRICS;
	want = openmetrics__render(&f, &o, &len);
	CHECK(fetch(AF_INET, port, "GET", "/metrics",
		   "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
		   "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n", &r) == 0);
	CHECK_MSG(r.status == 200, "status %d", r.status);
	CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "application/openmetrics-text; version=1.0.0; charset=utf-8");
	CHECK(want && r.len == len && !memcmp(r.body, want, len));
	CHECK(r.len > 6 && !strcmp(r.body + r.len - 6, "# EOF\n"));
	free(r.body);
	free(want);
	/* refused with q=0, or not asked for: text */
	CHECK(fetch(AF_INET, port, "GET", "/metrics", "Accept: application/openmetrics-text; q=0, text/plain\r\n", &r) == 0);
	CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "text/plain; version=0.0.4; charset=utf-8");
	free(r.body);
	CHECK(fetch(AF_INET, port, "GET", "/metrics", "Accept: text/plain, application/json\r\n", &r) == 0);
	CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "text/plain; version=0.0.4; charset=utf-8");
	free(r.body);

	/* HEAD: the headers, no body */
	o.fmt = OM_PROMETHEUS_TEXT;
	want = openmetrics__render(&f, &o, &len);
	CHECK(fetch(AF_INET, port, "HEAD", "/metrics", NULL, &r) == 0);
	CHECK_MSG(r.status == 200 && r.len == 0, "status %d, %zu bytes", r.status, r.len);
	CHECK_U64(strtoull(header(&r, "Content-Length", v, sizeof(v)), NULL, 10), len);
	free(r.body);
	free(want);

	/* elsewhere, and other methods */
	CHECK(fetch(AF_INET, port, "GET", "/", NULL, &r) == 0);
	CHECK_MSG(r.status == 404, "status %d", r.status);
	free(r.body);
	CHECK(fetch(AF_INET, port, "GET", "/metrics/x", NULL, &r) == 0);
	CHECK_MSG(r.status == 404, "status %d", r.status);
	free(r.body);
	CHECK(fetch(AF_INET, port, "POST", "/metrics", "Content-Length: 5\r\n\r\nhello", &r) == 0);
	CHECK_MSG(r.status == 405, "status %d", r.status);
	CHECK_STR(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
	free(r.body);
	CHECK(fetch(AF_INET, port, "DELETE", "/metrics", NULL, &r) == 0);
	CHECK_MSG(r.status == 405, "status %d", r.status);
	free(r.body);

	/* a new frame replaces the old */
	live_proc__free(&p);
	proc(&p, &pt, 900);
	f.attached_total = 2;
	metrics_http__publish(h, &f, &o);
	CHECK(fetch(AF_INET, port, "GET", "/metrics", NULL, &r) == 0);
	CHECK(r.body && strstr(r.body, "container=\"\"} 0.9\n") && strstr(r.body, "gilscope_processes_attached_total 2\n"));
	CHECK(r.body && !strstr(r.body, "container=\"\"} 0.4\n"));
	free(r.body);

	/* scrapes racing publishes: every body whole */
	{
		struct race x = { .port = port };
		pthread_t t;

		CHECK(pthread_create(&t, NULL, scraper, &x) == 0);
		while (x.done < 150) {
			f.seq++;
			metrics_http__publish(h, &f, &o);
			metrics_http__render_pending(h);
		}
		pthread_join(t, NULL);
		CHECK_MSG(x.bad == 0, "%d of 150 scrapes bad", x.bad);
	}

	/* bounded: with every connection taken, one more waits unserved (in
	 * the kernel's backlog); once one goes, it is served */
	{
		int fds[METRICS_HTTP_MAX_CONNS], extra;
		struct timeval short_wait = { .tv_sec = 1 };
		char got[64] = "";

		for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
			fds[i] = dial(AF_INET, port);
		usleep(200000);
		extra = dial(AF_INET, port);
		CHECK(extra >= 0);
		if (extra >= 0) {
			const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
			ssize_t n;

			CHECK(write(extra, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1);
			setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof(short_wait));
			n = read(extra, got, sizeof(got) - 1);
			CHECK_MSG(n < 0 && errno == EAGAIN, "a connection past the limit: read %zd (%s)", n,
				  n > 0 ? got : strerror(errno));
			close(fds[0]);
			fds[0] = -1;
			short_wait.tv_sec = 5;
			setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof(short_wait));
			n = read(extra, got, sizeof(got) - 1);
			got[n > 0 ? n : 0] = 0;
			CHECK_MSG(!strncmp(got, "HTTP/1.1 200", 12), "once a connection closed: \"%s\"", got);
			close(extra);
		}
		for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}

	test_errors(port);

	metrics_http__stop(h);

	/* IPv6 loopback, where the machine has it */
	if (metrics_http__start(&h, "[::1]:0", err, sizeof(err)) == 0) {
		served = h;
		metrics_http__publish(h, &f, &o);
		CHECK(fetch(AF_INET6, metrics_http__port(h), "GET", "/metrics", NULL, &r) == 0 && r.status == 200);
		free(r.body);
		metrics_http__stop(h);
	} else {
		printf("  no IPv6 loopback here (%s): [::1] not checked\n", err);
	}
	metrics_http__stop(NULL);
	live_proc__free(&p);
	return check_summary("metrics_http");
}
