/* probe: see probe.h. Plain sockets with poll() deadlines. */
#include "probe.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* (the probes keep the caller's signal mask: a probe is short) */
static int wait_fd(int fd, short events, long long deadline)
{
	return net_wait(fd, events, deadline, NULL) == 1;
}

static int dial(const char *host, int port, long long deadline)
{
	return net_dial(host, port, NULL, deadline, NULL);
}

static void note_server_hello(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)ssl;
	if (!write_p && type == SSL3_RT_HANDSHAKE && len > 0 && ((const unsigned char *)buf)[0] == SSL3_MT_SERVER_HELLO)
		*(bool *)arg = true;
}

static bool probe_range(const char *host, int port, int timeout_ms, int min, int max, int *version);

bool probe_speaks_tls(const char *host, int port, int timeout_ms)
{
	return probe_range(host, port, timeout_ms, TLS1_VERSION, 0, NULL);
}

bool probe_speaks_tls_upto(const char *host, int port, int max, int timeout_ms)
{
	return probe_range(host, port, timeout_ms, TLS1_VERSION, max, NULL);
}

int probe_tls_max_version(const char *host, int port, int timeout_ms)
{
	int v = 0;
	return probe_range(host, port, timeout_ms, TLS1_VERSION, TLS1_3_VERSION, &v) ? v : 0;
}

/* Drive SSL_connect to its end within deadline, or until *stop turns
 * true (a callback's verdict); true when the handshake completed. */
static bool connect_until(SSL *ssl, int fd, long long deadline, const bool *stop)
{
	for (;;) {
		int r = SSL_connect(ssl);
		if (r == 1)
			return true;
		if (stop && *stop)
			return false;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline))
			continue;
		if (e == SSL_ERROR_WANT_WRITE && wait_fd(fd, POLLOUT, deadline))
			continue;
		return false;
	}
}

static bool probe_range(const char *host, int port, int timeout_ms, int min, int max, int *version)
{
	long long deadline = mono_ms() + timeout_ms;
	int fd = dial(host, port, deadline);
	if (fd < 0)
		return false;
	bool hello = false;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (ssl) {
		SSL_set_security_level(ssl, 0);
		SSL_set_min_proto_version(ssl, min);
		SSL_set_max_proto_version(ssl, max);
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		SSL_set_msg_callback(ssl, note_server_hello);
		SSL_set_msg_callback_arg(ssl, &hello);
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, host);
		connect_until(ssl, fd, deadline, &hello);
		/* the version the broker chose, known once its ServerHello is in */
		if (version && hello)
			*version = SSL_version(ssl);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	close(fd);
	return hello;
}

void probe_tls_verdict(const char *host, int port, SSL_CTX *ctx, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	int fd = dial(host, port, deadline);
	if (fd < 0)
		return;
	SSL *ssl = SSL_new(ctx);
	if (ssl) {
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, host);
		bool done = false;
		for (;;) {
			char b;
			int r = done ? SSL_peek(ssl, &b, 1) : SSL_connect(ssl);
			if (r == 1 && !done) {
				done = true;
				continue;
			}
			if (r > 0)
				break;
			int e = SSL_get_error(ssl, r);
			if (e == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline))
				continue;
			if (e == SSL_ERROR_WANT_WRITE && wait_fd(fd, POLLOUT, deadline))
				continue;
			break;
		}
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(fd);
}

bool probe_speaks_mqtt(const char *host, int port, int timeout_ms)
{
	/* CONNECT, MQTT 3.1.1, clean session, keepalive 10, client id "smqtt-probe" */
	static const unsigned char connect_pkt[] = {
		0x10, 23, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x0a,
		0x00, 0x0b, 's', 'm', 'q', 't', 't', '-', 'p', 'r', 'o', 'b', 'e'};
	long long deadline = mono_ms() + timeout_ms;
	int fd = dial(host, port, deadline);
	if (fd < 0)
		return false;
	bool mqtt = false;
	unsigned char reply[4];
	if (send(fd, connect_pkt, sizeof(connect_pkt), MSG_NOSIGNAL) == (ssize_t)sizeof(connect_pkt)
			&& wait_fd(fd, POLLIN, deadline)) {
		ssize_t n = recv(fd, reply, sizeof(reply), 0);
		mqtt = n >= 2 && reply[0] == 0x20 && reply[1] == 0x02;
	}
	if (mqtt) {
		static const unsigned char disconnect_pkt[] = {0xe0, 0x00};
		(void)send(fd, disconnect_pkt, sizeof(disconnect_pkt), MSG_NOSIGNAL);
	}
	close(fd);
	return mqtt;
}

/* Finish a TLS handshake on fd (no verification, no certificate) within
 * deadline; NULL when it fails. */
static SSL *tls_open(SSL_CTX *ctx, int fd, const char *host, long long deadline)
{
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl)
		return NULL;
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	if (connect_until(ssl, fd, deadline, NULL))
		return ssl;
	SSL_free(ssl);
	return NULL;
}

bool probe_speaks_http(const char *host, int port, bool tls, int timeout_ms, char *line, size_t len)
{
	char req[600];
	int k = snprintf(req, sizeof(req), "GET /mqtt HTTP/1.1\r\nHost: %.500s\r\nUpgrade: websocket\r\n"
			"Connection: Upgrade\r\nSec-WebSocket-Key: c21xdHQtcHJvYmUtMDAwMA==\r\nSec-WebSocket-Version: 13\r\n"
			"Sec-WebSocket-Protocol: mqtt\r\n\r\n", host);
	if (len)
		line[0] = '\0';
	if (k <= 0 || (size_t)k >= sizeof(req))
		return false;
	long long deadline = mono_ms() + timeout_ms;
	int fd = dial(host, port, deadline);
	if (fd < 0)
		return false;
	SSL_CTX *ctx = tls ? SSL_CTX_new(TLS_client_method()) : NULL;
	SSL *ssl = tls ? tls_open(ctx, fd, host, deadline) : NULL;
	char reply[128];
	size_t got = 0;
	bool sent = tls ? ssl && SSL_write(ssl, req, k) == k : send(fd, req, (size_t)k, MSG_NOSIGNAL) == k;
	while (sent && got < sizeof(reply) - 1 && !memchr(reply, '\n', got)) {
		ssize_t n;
		if (ssl) {
			int r = SSL_read(ssl, reply + got, (int)(sizeof(reply) - 1 - got));
			if (r <= 0) {
				if (SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline))
					continue;
				break;
			}
			n = r;
		} else {
			if (!wait_fd(fd, POLLIN, deadline))
				break;
			n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
			if (n <= 0)
				break;
		}
		got += (size_t)n;
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	close(fd);
	reply[got] = '\0';
	bool http = got >= 12 && !strncmp(reply, "HTTP/1.", 7);
	if (http && len) {
		size_t n = strcspn(reply, "\r\n");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)reply[i] < 0x20 || (unsigned char)reply[i] >= 0x7f)
				n = i;
		snprintf(line, len, "%.*s", (int)n, reply);
	}
	return http;
}

STACK_OF(X509) *probe_tls_chain(const char *host, int port, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	int fd = dial(host, port, deadline);
	if (fd < 0)
		return NULL;
	STACK_OF(X509) *out = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (ssl) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, host);
		connect_until(ssl, fd, deadline, NULL);
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
		if (chain && sk_X509_num(chain) > 0) {
			out = sk_X509_new_null();
			for (int i = 0; out && i < sk_X509_num(chain); i++) {
				X509 *x = sk_X509_value(chain, i);
				if (X509_up_ref(x) && !sk_X509_push(out, x))
					X509_free(x);
			}
		}
		/* a polite end: the broker logs a closed connection, not an error */
		if (SSL_is_init_finished(ssl))
			(void)SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	close(fd);
	return out;
}
