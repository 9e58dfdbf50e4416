// SPDX-License-Identifier: MIT
/* /metrics over libmicrohttpd. gilscope binds the listening socket itself
 * (clear errors, the port when 0 was asked) and hands it to MHD, which
 * polls it and every connection in one thread of its own. A publish only
 * notes the frame; the text is rendered when a scrape asks for it, by
 * the thread that owns the frame (metrics_http__render_pending), once per
 * frame and format: a frame nobody scrapes costs nothing. The rendered
 * snapshot is swapped in under a mutex; a scrape takes a reference to it
 * and sends its text without copying; the last reference frees it. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "common.h"
#include "render/metrics_http.h"

/* One published frame, rendered in the formats scrapes asked for. */
struct snapshot {
	int refs;                    /* under metrics_http.lock */
	uint64_t gen;                /* the frame's */
	char *text[2];               /* [enum om_format], NULL: not rendered */
	size_t len[2];
};

/* How long a scrape waits for its text to be rendered. */
#define RENDER_WAIT_S 3

struct metrics_http {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock;
	pthread_cond_t rendered;
	struct snapshot *cur;        /* NULL: nothing rendered yet */
	/* the published frame (borrowed until the next publish) */
	const struct live_frame *frame;
	struct om_opts opts;
	uint64_t gen;                /* 0: nothing published */
	bool want[2];                /* scrapes wait for these formats */
	bool stopping;
};

/* A response's reference: the snapshot, and the server to unlock. */
struct snap_ref {
	struct metrics_http *h;
	struct snapshot *s;
};

static void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->text[0]);
	free(s->text[1]);
	free(s);
}

/* Drop one reference (h->lock held); the last frees it. */
static struct snapshot *snapshot_unref_locked(struct snapshot *s)
{
	return s && --s->refs == 0 ? s : NULL;
}

static void snapshot_unref(struct metrics_http *h, struct snapshot *s)
{
	struct snapshot *dead;

	pthread_mutex_lock(&h->lock);
	dead = snapshot_unref_locked(s);
	pthread_mutex_unlock(&h->lock);
	snapshot_free(dead);
}

/* ------------------------------------------------------------- requests */

/* Does an Accept header take OpenMetrics text? A media range
 * application/openmetrics-text whose q is not 0. */
static bool wants_openmetrics(const char *accept)
{
	static const char om[] = "application/openmetrics-text";

	for (const char *r = accept; r && *r;) {
		const char *end = strchr(r, ','), *q;
		size_t n = end ? (size_t)(end - r) : strlen(r);

		while (n && (*r == ' ' || *r == '\t'))
			r++, n--;
		if (n >= sizeof(om) - 1 && !strncasecmp(r, om, sizeof(om) - 1) &&
		    (n == sizeof(om) - 1 || r[sizeof(om) - 1] == ';' || r[sizeof(om) - 1] == ' ')) {
			q = strstr(r, "q=");
			if (!q || q >= r + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		r = end ? end + 1 : NULL;
	}
	return false;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *body,
				  const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void response_done(void *cls)
{
	struct snap_ref *ref = cls;

	snapshot_unref(ref->h, ref->s);
	free(ref);
}

static enum MHD_Result reply_metrics(struct metrics_http *h, struct MHD_Connection *c)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	enum om_format fmt = wants_openmetrics(accept) ? OM_OPENMETRICS : OM_PROMETHEUS_TEXT;
	struct snap_ref *ref = malloc(sizeof(*ref));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!ref)
		return MHD_NO;
	pthread_mutex_lock(&h->lock);
	ref->h = h;
	/* the current frame in this format: rendered on demand */
	if (h->gen && !h->stopping && !(h->cur && h->cur->gen == h->gen && h->cur->text[fmt])) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RENDER_WAIT_S;
		h->want[fmt] = true;
		while (!h->stopping && h->want[fmt] &&
		       pthread_cond_timedwait(&h->rendered, &h->lock, &until) == 0)
			;
	}
	ref->s = h->cur && h->cur->text[fmt] ? h->cur : NULL;
	if (ref->s)
		ref->s->refs++;
	pthread_mutex_unlock(&h->lock);
	if (!ref->s) {
		free(ref);
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "gilscope: no figures yet\n", NULL);
	}
	r = MHD_create_response_from_buffer_with_free_callback_cls(ref->s->len[fmt], ref->s->text[fmt],
								     response_done, ref);
	if (!r) {
		response_done(ref);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, openmetrics__content_type(fmt));
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);   /* the connection keeps it until sent */
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "gilscope serves /metrics only\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "/metrics is read-only: GET or HEAD\n", "GET, HEAD");
	return reply_metrics(cls, c);
}

/* ------------------------------------------------------------ listening */

static int parse_port(const char *s, char *err, size_t errlen, const char *spec)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > 65535 || *s == '-' || *s == '+')
		return gs_fail(err, errlen, -EINVAL, "--listen %s: the port must be a number from 0 to 65535", spec);
	return (int)v;
}

/* spec (--listen) -> an address to bind. */
static int resolve(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[256];
	const char *port_s;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int port, rc;

	if (!*spec)
		return gs_fail(err, errlen, -EINVAL, "--listen: empty (give PORT, ADDR:PORT or [IPv6]:PORT)");
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':' || close == spec + 1 || (size_t)(close - spec - 1) >= sizeof(host))
			return gs_fail(err, errlen, -EINVAL, "--listen %s: write an IPv6 address as [ADDR]:PORT", spec);
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = 0;
		port_s = close + 2;
		hints.ai_flags |= AI_NUMERICHOST;
		hints.ai_family = AF_INET6;
	} else if (!strchr(spec, ':')) {
		snprintf(host, sizeof(host), "127.0.0.1");
		port_s = spec;
	} else {
		const char *colon = strrchr(spec, ':');

		if (strchr(spec, ':') != colon)
			return gs_fail(err, errlen, -EINVAL, "--listen %s: write an IPv6 address as [ADDR]:PORT", spec);
		if (colon == spec)
			return gs_fail(err, errlen, -EINVAL,
				       "--listen %s: no address (0.0.0.0%s listens on every interface)", spec, colon);
		if ((size_t)(colon - spec) >= sizeof(host))
			return gs_fail(err, errlen, -EINVAL, "--listen %s: address too long", spec);
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port_s = colon + 1;
	}
	port = parse_port(port_s, err, errlen, spec);
	if (port < 0)
		return port;
	rc = getaddrinfo(host, port_s, &hints, &ai);
	if (rc)
		return gs_fail(err, errlen, -EINVAL, "--listen %s: bad address '%s': %s", spec, host,
			       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* A listening socket on spec; its fd, or -errno. */
static int listen_on(const char *spec, int *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int fd, on = 1, rc = resolve(spec, &ss, &sslen, err, errlen);

	if (rc)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return gs_fail(err, errlen, -errno, "--listen %s: socket: %s", spec, strerror(errno));
	/* a restart may bind while old connections linger in TIME_WAIT; it
	 * still cannot share a port another socket listens on */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, METRICS_HTTP_MAX_CONNS)) {
		rc = -errno;
		close(fd);
		return gs_fail(err, errlen, rc, "--listen %s: cannot listen: %s%s", spec, strerror(-rc),
			       rc == -EADDRINUSE ? " (another program uses this port)" : "");
	}
	sslen = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* ------------------------------------------------------------------ API */

int metrics_http__start(struct metrics_http **out, const char *spec, char *err, size_t errlen)
{
	struct metrics_http *h;
	int fd;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return gs_fail(err, errlen, -ENOMEM, "--listen %s: out of memory", spec);
	fd = listen_on(spec, &h->port, err, errlen);
	if (fd < 0) {
		free(h);
		return fd;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->rendered, NULL);
	h->d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_MAX_CONNS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_TIMEOUT_S,
				MHD_OPTION_END);
	if (!h->d) {
		close(fd);
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->rendered);
		free(h);
		return gs_fail(err, errlen, -EIO, "--listen %s: the HTTP server (libmicrohttpd) did not start", spec);
	}
	*out = h;
	return 0;
}

void metrics_http__publish(struct metrics_http *h, const struct live_frame *f, const struct om_opts *o)
{
	pthread_mutex_lock(&h->lock);
	h->frame = f;
	h->opts = *o;
	h->gen++;
	pthread_mutex_unlock(&h->lock);
}

void metrics_http__render_pending(struct metrics_http *h)
{
	struct snapshot *s, *old = NULL;
	struct om_opts each;
	bool want[2];
	uint64_t gen;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	want[0] = h->want[0];
	want[1] = h->want[1];
	gen = h->gen;
	each = h->opts;
	pthread_mutex_unlock(&h->lock);
	if (!(want[0] || want[1]) || !gen)
		return;
	/* the frame is this thread's: rendered without the lock */
	s = calloc(1, sizeof(*s));
	for (int fmt = OM_PROMETHEUS_TEXT; s && fmt <= OM_OPENMETRICS; fmt++) {
		if (!want[fmt])
			continue;
		each.fmt = fmt;
		s->text[fmt] = openmetrics__render(h->frame, &each, &s->len[fmt]);
	}
	pthread_mutex_lock(&h->lock);
	if (s) {
		s->refs = 1;   /* the server's */
		s->gen = gen;
		/* the other format of the same frame, rendered before, stays */
		for (int fmt = OM_PROMETHEUS_TEXT; h->cur && h->cur->gen == gen && fmt <= OM_OPENMETRICS; fmt++)
			if (!s->text[fmt] && h->cur->text[fmt] && (s->text[fmt] = malloc(h->cur->len[fmt] + 1))) {
				memcpy(s->text[fmt], h->cur->text[fmt], h->cur->len[fmt] + 1);
				s->len[fmt] = h->cur->len[fmt];
			}
		old = snapshot_unref_locked(h->cur);
		h->cur = s;
	}
	h->want[0] = h->want[1] = false;   /* out of memory: 503, not a wait */
	pthread_cond_broadcast(&h->rendered);
	pthread_mutex_unlock(&h->lock);
	snapshot_free(old);
}

int metrics_http__port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http__stop(struct metrics_http *h)
{
	if (!h)
		return;
	/* a scrape waiting for its text gives up */
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->rendered);
	pthread_mutex_unlock(&h->lock);
	/* closes the listening socket and every connection; their responses
	 * drop their references */
	MHD_stop_daemon(h->d);
	snapshot_free(snapshot_unref_locked(h->cur));
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->rendered);
	free(h);
}
