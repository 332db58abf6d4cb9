/* transportmosq: libmosquitto's own socket as a transport (see
 * transport.h): libmosquitto makes the TCP connection (or the Unix socket
 * one, or SOCKS5), and the TLS handshake over the context connect.c
 * installed. */
#include "transport.h"
#include "client.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

/* SIGALRM only interrupts libmosquitto's blocking connect() (EINTR); the
 * tools' own signals are installed after the connection is up. */
static void on_alarm(int signum)
{
	(void)signum;
}

/* One connect: resolve + TCP (bounded by a timer: SIGALRM interrupts the
 * blocking connect() inside libmosquitto) and, with TLS, the handshake. */
static int mosq_connect(struct client *c, int *err)
{
	struct config *cfg = c->cfg;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	long long left = c->deadline_ms - mono_ms();
	if (left < 1)
		left = 1;
	/* to the millisecond: alarm()'s whole seconds cut 2.999 s to 2 */
	struct itimerval it = {{0, 0}, {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000}};
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	int rc = mosquitto_connect_bind_v5(c->mosq, cfg->host, c->port, cfg->keepalive,
			cfg->bind_address, cfg->connect_props);
	*err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	/* finish the handshake here, so that a version failure can be retried */
	while (rc == MOSQ_ERR_SUCCESS && c->have_tls && !c->ev.handshake_done) {
		rc = client_loop_step(c, 1000, -1, NULL, NULL);
		*err = errno;
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(c->mosq) < 0)
			rc = MOSQ_ERR_CONN_LOST;
	}
	/* CONNECT goes out right after our Finished, as mosquitto's clients
	 * send it: with TLS 1.3 the broker's verdict on our certificate comes
	 * later, and a rejection is settled after the failure
	 * (certificate_verdict) */
	return rc;
}


static int mosq_reconnect(struct client *c)
{
	return mosquitto_reconnect(c->mosq);
}

static SSL *mosq_ssl(const struct client *c)
{
	return c->mosq ? mosquitto_ssl_get(c->mosq) : NULL;
}

/* Nothing besides libmosquitto's socket: no descriptors, nothing held,
 * nothing to move, nothing to close (mosquitto_destroy closes it). */
static void mosq_pollfds(const struct client *c, struct pollfd *p, nfds_t *n)
{
	(void)c;
	(void)p;
	(void)n;
}

static bool mosq_pending(const struct client *c)
{
	(void)c;
	return false;
}

static bool mosq_pump(struct client *c)
{
	(void)c;
	return false;
}

static void mosq_close(struct client *c, int wait_ms)
{
	(void)c;
	(void)wait_ms;
}

const struct transport *transport_mosquitto(void)
{
	static const struct transport t = {
		.connect = mosq_connect,
		.reconnect = mosq_reconnect,
		.ssl = mosq_ssl,
		.pollfds = mosq_pollfds,
		.pending = mosq_pending,
		.pump = mosq_pump,
		.close = mosq_close,
	};
	return &t;
}
