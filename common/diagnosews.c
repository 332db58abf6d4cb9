/* diagnosews: the facts of a failure at the WebSocket upgrade and at the
 * SOCKS5 proxy (see diagnose.h): the answer to the upgrade request, the
 * close, and how far the proxy's handshake went. */
#include "diagnose.h"
#include "diagnoseparts.h"
#include "l10n.h"
#include "socks.h"
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* The first bytes of an answer, printable or as hex. */
static void first_bytes(const struct evidence *ev, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0; i < ev->ws_first_len && at + 4 < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%02x", i ? " " : "", ev->ws_first[i]);
}

/* A Server header of a web server that is not a WebSocket proxy or broker
 * (Python's http.server, Apache httpd, lighttpd, IIS, ...). */
static bool plain_web_server(const char *server)
{
	static const char *const names[] = {"SimpleHTTP", "BaseHTTP", "Apache", "lighttpd", "Microsoft-IIS", "thttpd", "busybox httpd",
		"mini_httpd", "darkhttpd", "WEBrick"};
	for (size_t i = 0; server && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncasecmp(server, names[i], strlen(names[i])))
			return true;
	return false;
}

void diagnose_fill_ws(struct facts *f, enum cause c, const struct evidence *ev, int seconds)
{
	put(f, "path", "%s", ev->ws_path[0] ? ev->ws_path : "/mqtt");
	put(f, "status", "%d", ev->http_status);
	put(f, "reason", "%s", ev->http_reason[0] ? ev->http_reason : "(no reason phrase)");
	put(f, "location", "%s", ev->http_location[0] ? ev->http_location : "(none)");
	put(f, "subprotocol", "%s", ev->ws_subprotocol[0] ? ev->ws_subprotocol : "(none)");
	put(f, "extensions", "%s", ev->ws_extensions[0] ? ev->ws_extensions : "(empty)");
	put(f, "code", "%d", ev->ws_close_code);
	char first[64];
	first_bytes(ev, first, sizeof(first));
	EACH_LANG(l) {
		switch (c) {
		case CAUSE_WS_REDIRECT:
			if (!strncmp(ev->http_location, "https://", 8) && !ev->used_tls)
				say(f, l, "fixhint", L_(l, N_("the server sends plain-HTTP clients to HTTPS: use wss:// (or --ws with --cafile or --tls-use-os-certs) on its TLS port; the new address is %s")),
						ev->http_location);
			else
				say(f, l, "fixhint", L_(l, N_("connect to the address the server names (%s): its host, port and path, the path with --ws-path")),
						ev->http_location);
			break;
		case CAUSE_WS_PATH_NOT_FOUND: {
			bool plain = plain_web_server(ev->http_server);
			char server[160] = "", status[300];
			if (ev->http_server[0])
				snprintf(server, sizeof(server), L_(l, N_(" (Server: %s)")), ev->http_server);
			snprintf(status, sizeof(status), "%d%s%s%s", ev->http_status, ev->http_reason[0] ? " " : "", ev->http_reason, server);
			if (plain)
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the web server answered %s: that is a plain web server, "
						"not a WebSocket endpoint for MQTT, so no path on this port will do")), ev->ws_path, status);
			else
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the web server answered %s: nothing is served there; "
						"mosquitto 2.1's clients always ask for /mqtt")), ev->ws_path, status);
			if (plain)
				say(f, l, "fixhint", "%s", L_(l, N_("give the broker's websockets port with -p (mosquitto: a listener with protocol websockets) "
						"instead of this web server's")));
			else if (!strcmp(ev->ws_path, "/mqtt"))
				say(f, l, "fixhint", "%s", L_(l, N_("give the path the server serves MQTT on with --ws-path (the one configured in the proxy "
						"in front of the broker; /mqtt is what was just tried), or the broker's own websockets port")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("give the path the server serves MQTT on with --ws-path (e.g. --ws-path /mqtt, or the path "
						"configured in the proxy in front of the broker)")));
			break;
		}
		case CAUSE_WS_NOT_WEBSOCKET:
			if (ev->ws_upgrade == WS_HEAD_NO_UPGRADE)
				say(f, l, "detail", "%s", L_(l, N_("the server answered 101 Switching Protocols but without Upgrade: websocket and Connection: Upgrade, so it did not switch to WebSocket")));
			else
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the server answered %d %s: it served the request as a web page instead of switching to WebSocket (101)")),
						ev->ws_path, ev->http_status, ev->http_reason[0] ? ev->http_reason : "");
			break;
		case CAUSE_WS_NOT_HTTP:
			if (ev->ws_first_len)
				say(f, l, "detail", L_(l, N_("the upgrade request (an HTTP GET) was answered with bytes that are not HTTP (%s)%s")), first,
						ev->ws_first[0] == 0x20 ? L_(l, N_(": they look like an MQTT CONNACK, so this is a plain MQTT port")) : "");
			else if (ev->probe_mqtt_answered)
				say(f, l, "detail", "%s", L_(l, N_("the server closed the connection without answering the upgrade request; a plain MQTT CONNECT to the same port got a CONNACK, so this is a plain MQTT port, not a websockets one")));
			else
				say(f, l, "detail", "%s", L_(l, N_("the server closed the connection without answering the upgrade request (an HTTP GET)")));
			if ((ev->ws_first_len && ev->ws_first[0] == 0x20) || ev->probe_mqtt_answered) /* a plain MQTT port */
				say(f, l, "fixhint", "%s", L_(l, N_("drop --ws (use mqtt:// rather than ws://) to speak MQTT to this port, or give the broker's websockets port")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("give the broker's websockets port with -p (mosquitto: a listener with protocol websockets)")));
			break;
		case CAUSE_WS_TO_TLS_PORT:
			say(f, l, "detail", "%s", ev->ws_first_len ? L_(l, N_("the upgrade request (an HTTP GET in the clear) was answered with a TLS record: the port expects a TLS ClientHello first"))
					: L_(l, N_("the server closed the connection without answering the upgrade request in the clear, and a TLS ClientHello to the same port got a ServerHello")));
			break;
		case CAUSE_WS_CLOSED:
			if (ev->ws_close_reason[0])
				say(f, l, "detail", L_(l, N_("after the upgrade the server sent a WebSocket close frame with status %d (%s) and the reason \"%s\", before any CONNACK")),
						ev->ws_close_code, L_(l, ws_close_code_text(ev->ws_close_code)), ev->ws_close_reason);
			else
				say(f, l, "detail", L_(l, N_("after the upgrade the server sent a WebSocket close frame with status %d (%s), before any CONNACK")),
						ev->ws_close_code, L_(l, ws_close_code_text(ev->ws_close_code)));
			if (ev->ws_close_code == 1008 || ev->ws_close_code == 1003)
				say(f, l, "fixhint", "%s", L_(l, N_("the server refused what this client sent: check -u/-P and the client id, and the broker's log for why")));
			else if (ev->ws_close_code == 1009)
				say(f, l, "fixhint", "%s", L_(l, N_("the server's message size limit is lower than this client's CONNECT: shorten the will or properties, or raise the limit")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("check the broker's log for why it closed the connection")));
			break;
		case CAUSE_WS_PROTOCOL_ERROR:
			if (ev->ws_upgrade == WS_HEAD_TOO_LARGE)
				say(f, l, "detail", L_(l, N_("the answer to the upgrade request had no end of its headers within %d bytes, far more than any WebSocket server sends")), WS_MAX_HEAD);
			else
				say(f, l, "detail", L_(l, N_("%s; this client closed the WebSocket with status %d")), L_(l, ev->ws_error_text ? ev->ws_error_text : "?"),
						ws_error_close_code((enum ws_error)ev->ws_error));
			break;
		case CAUSE_WS_UPGRADE_TIMEOUT:
			say(f, l, "detail", L_(l, N_("the %s connection was up and the upgrade request (GET %s) was sent, but no complete answer came within --connect-timeout %d s")),
					ev->used_tls ? "TLS" : "TCP", ev->ws_path, seconds);
			break;
		default:
			break;
		}
	}
}

/* A SOCKS5 proxy stopped the connection before the broker was reached. */
void diagnose_fill_proxy(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg, int seconds)
{
	const char *user = cfg && cfg->socks5_username ? cfg->socks5_username : NULL;
	put(f, "proxy", "%s:%d", cfg && cfg->socks5_host ? cfg->socks5_host : "?", cfg ? cfg->socks5_port : 0);
	put(f, "code", "%d", ev->proxy_rep);
	put(f, "rep", "%s", socks_rep_text(ev->proxy_rep));
	char first[64] = "";
	for (int i = 0, at = 0; i < ev->proxy_first_len && at + 4 < (int)sizeof(first); i++)
		at += snprintf(first + at, sizeof(first) - (size_t)at, "%s%02x", i ? " " : "", ev->proxy_first[i]);
	EACH_LANG(l) {
		switch (c) {
		case CAUSE_PROXY_AUTH_REFUSED:
			if (ev->proxy_result == SOCKS_METHOD_REFUSED)
				say(f, l, "detail", L_(l, N_("the proxy accepted none of the authentication methods offered (%s, RFC 1928): %s")),
						user ? L_(l, N_("username/password")) : L_(l, N_("no authentication")),
						user ? L_(l, N_("it does not take a user name and password; drop them from --proxy"))
						: L_(l, N_("it wants a user name and password: give them in --proxy")));
			else
				say(f, l, "detail", L_(l, N_("the proxy answered the user name %s and its password with status %d (RFC 1929: refused)")),
						user ? user : "?", ev->proxy_first_len >= 4 ? ev->proxy_first[3] : -1);
			break;
		case CAUSE_PROXY_TARGET_REFUSED:
			if (ev->proxy_rep == 2)
				say(f, l, "fixhint", "%s", L_(l, N_("the proxy's rules do not allow this destination: ask its operator to allow the broker's host and port")));
			else if (ev->proxy_rep == 3 || ev->proxy_rep == 4)
				say(f, l, "fixhint", "%s", L_(l, N_("the proxy resolves and reaches the host itself (socks5h): check the host name with -h as the proxy sees it, and the proxy's network")));
			else if (ev->proxy_rep == 5)
				say(f, l, "fixhint", "%s", L_(l, N_("nothing listens at that host and port as seen from the proxy: check -h and -p, and that the broker runs")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("check the proxy's log for why it failed")));
			break;
		case CAUSE_PROXY_NO_ANSWER:
			say(f, l, "detail", L_(l, N_("the TCP connection to the proxy was up and the SOCKS5 greeting sent, but no answer came within --connect-timeout %d s")),
					seconds);
			break;
		case CAUSE_PROXY_NOT_SOCKS:
			if (ev->proxy_first_len)
				say(f, l, "detail", L_(l, N_("the SOCKS5 greeting was answered with bytes that are not SOCKS5 (%s)%s")), first,
						ev->proxy_first[0] == 'H' ? L_(l, N_(": they look like HTTP, so this is a web server or an HTTP proxy")) : "");
			else
				say(f, l, "detail", "%s", L_(l, N_("the proxy closed the connection without answering the SOCKS5 greeting")));
			break;
		default:
			break;
		}
	}
}

