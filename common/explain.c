/* explain: the cause catalogue (see explain.h). Every user-facing
 * explanation is a row here; code elsewhere only supplies the slot values. */
#include "explain.h"
#include "socks.h"
#include "l10n.h"

#include <stdlib.h>
#include <string.h>

#define PF STAGE_PREFLIGHT

static const struct cause_info table[CAUSE_COUNT] = {
	{CAUSE_FILE_UNREADABLE, "file-unreadable", PF,
		N_("cannot read {option} file {file}"),
		"{detail}",
		N_("check the path given to {option}; it must be a file this user can read")},
	{CAUSE_FILE_NOT_PEM, "file-not-pem", PF,
		N_("{option} file {file} is not a PEM {expected}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_CAFILE_NOT_CA, "cafile-not-ca", PF,
		N_("{option} file {file} holds a certificate that is not a CA: {subject}"),
		"{detail}",
		N_("give the certificate of the CA that signed the broker's certificate, not {what}: --cafile <ca.crt> (issuer of {subject} is {issuer})")},
	{CAUSE_CA_SUBJECT_EQUALS_LEAF, "ca-subject-equals-leaf", PF,
		N_("{file}: the CA and the certificate {subject} have the same name"),
		"{detail}",
		N_("re-create the CA with a distinct Common Name (e.g. openssl req -x509 -subj '/CN=My MQTT CA' ...) and reissue the broker and client certificates from it, with -extfile containing basicConstraints=CA:FALSE and subjectKeyIdentifier/authorityKeyIdentifier")},
	{CAUSE_CERT_EXPIRED, "cert-expired", PF,
		N_("{role} certificate {file} expired on {not_after}"),
		N_("{subject} was valid from {not_before} to {not_after}; it is now {now}, so the broker will reject it"),
		N_("issue a new certificate for {subject} and point {option} at it")},
	{CAUSE_CERT_NOT_YET_VALID, "cert-not-yet-valid", PF,
		N_("{role} certificate {file} is not valid until {not_before}"),
		N_("{subject} is valid from {not_before} to {not_after}; it is now {now} on this machine: either the certificate was issued with a future start date or this machine's clock is wrong"),
		N_("check this machine's clock (timedatectl), or reissue the certificate with a start date in the past")},
	{CAUSE_CERT_EXPIRING, "cert-expiring", PF,
		N_("{role} certificate {file} expires in {days}, on {not_after}"),
		N_("{subject} is valid until {not_after}; after that connections that use it fail"),
		"{fixhint}"},
	{CAUSE_KEY_MISMATCH, "key-mismatch", PF,
		N_("--key {file} does not belong to --cert {cert}"),
		N_("the public key in {cert} ({subject}) is not the public half of the private key in {file}"),
		N_("give the key the certificate was issued for; compare with: openssl x509 -noout -pubkey -in {cert} and openssl pkey -pubout -in {file}")},
	{CAUSE_KEY_ENCRYPTED, "key-encrypted", PF,
		N_("--key {file} is encrypted and there is no terminal to ask for its passphrase"),
		N_("the private key is protected by a passphrase, and standard input is not a terminal, so OpenSSL cannot prompt for it"),
		N_("run from a terminal, or decrypt the key once: openssl pkey -in {file} -out client-plain.key && chmod 600 client-plain.key")},
	{CAUSE_CERT_NOT_FOR_CLIENT, "cert-not-for-client", PF,
		N_("--cert {file} may not be used by a TLS client"),
		N_("its extended key usage is {eku} and does not include clientAuth, so the broker will reject it"),
		N_("reissue the client certificate with extendedKeyUsage = clientAuth")},
	{CAUSE_WEAK_CRYPTO, "weak-crypto", PF,
		N_("{role} certificate {file} is too weak for OpenSSL's security level {level}"),
		"{detail}",
		"{fixhint}"},

	{CAUSE_DNS_FAILURE, "dns-failure", STAGE_RESOLVE,
		N_("cannot resolve {host}"),
		"{detail}",
		N_("check the spelling of -h {host}, or use the broker's IP address")},
	{CAUSE_CONNECTION_REFUSED, "connection-refused", STAGE_TCP,
		N_("connection to {where} refused"),
		N_("nothing is listening on port {port} at {host} (the TCP connection was actively refused)"),
		N_("check that the broker is running and the port: -p {port}; {ports}")},
	{CAUSE_CONNECT_TIMEOUT, "connect-timeout", STAGE_TCP,
		N_("connection to {where} timed out after {seconds} s"),
		N_("the TCP connection was not answered: the host is down, or a firewall drops the packets"),
		N_("check the address and that the port is open: -h {host} -p {port}; --connect-timeout sets the limit")},
	{CAUSE_NETWORK_UNREACHABLE, "network-unreachable", STAGE_TCP,
		N_("cannot reach {where}"),
		"{detail}",
		N_("check this machine's network and routes to {host}")},

	{CAUSE_SERVER_CERT_UNTRUSTED, "server-cert-untrusted", STAGE_TLS,
		N_("the broker {where} presented a certificate not trusted by {trust}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_SERVER_CERT_SELF_SIGNED, "server-cert-self-signed", STAGE_TLS,
		N_("the broker {where} presented {kind}: {subject}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_SERVER_CHAIN_INCOMPLETE, "server-chain-incomplete", STAGE_TLS,
		N_("the broker {where} sent a certificate whose issuer is not in {trust}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_HOSTNAME_MISMATCH, "hostname-mismatch", STAGE_TLS,
		N_("the broker's certificate is not valid for {host}"),
		N_("the certificate {subject} is valid for {names}, not {host}"),
		N_("connect with a name the certificate holds (-h {suggest}), or reissue the broker certificate with subjectAltName = {sanhint}")},
	{CAUSE_SERVER_CERT_EXPIRED, "server-cert-expired", STAGE_TLS,
		N_("the broker {where} presented an expired certificate"),
		N_("{subject} was valid until {not_after}; it is now {now}"),
		N_("renew the broker's certificate ({subject}) and restart the broker")},
	{CAUSE_SERVER_CERT_NOT_YET_VALID, "server-cert-not-yet-valid", STAGE_TLS,
		N_("the broker {where} presented a certificate that is not valid yet"),
		N_("{subject} is valid from {not_before}; it is now {now} on this machine: the certificate was issued with a future start date or a clock is wrong"),
		N_("check the clocks of this machine and the broker (timedatectl), or reissue the certificate")},
	{CAUSE_SERVER_CERT_WRONG_PURPOSE, "server-cert-wrong-purpose", STAGE_TLS,
		N_("the broker {where} presented a certificate that is not for TLS servers"),
		"{detail}",
		N_("reissue the broker certificate with extendedKeyUsage = serverAuth")},

	{CAUSE_CLIENT_CERT_REQUIRED, "client-cert-required", STAGE_TLS,
		N_("the broker {where} requires a client certificate"),
		"{detail}",
		N_("give the client certificate and key: --cert client.crt --key client.key")},
	{CAUSE_CLIENT_CERT_UNKNOWN_CA, "client-cert-unknown-ca", STAGE_TLS,
		N_("the broker {where} does not trust the client certificate {subject}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_CLIENT_CERT_REJECTED, "client-cert-rejected", STAGE_TLS,
		N_("the broker {where} rejected the client certificate {subject}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_PROTOCOL_VERSION_MISMATCH, "protocol-version-mismatch", STAGE_TLS,
		N_("the broker {where} and this client have no TLS version in common"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_INAPPROPRIATE_FALLBACK, "inappropriate-fallback", STAGE_TLS,
		N_("the broker {where} refused a lower TLS version (inappropriate_fallback)"),
		N_("a first attempt at a higher version failed, but the broker says it supports more than the retry offered: something between this client and the broker broke the first handshake (a middlebox), or someone is trying a downgrade attack"),
		N_("nothing was sent; check what sits between this machine and the broker, then retry; smqtt will not connect at a lower version silently")},
	{CAUSE_NO_SHARED_CIPHER, "no-shared-cipher", STAGE_TLS,
		N_("the broker {where} and this client have no cipher in common"),
		"{detail}",
		N_("widen --ciphers (or remove it), or change the broker's ciphers setting")},
	{CAUSE_PSK_MISMATCH, "psk-mismatch", STAGE_TLS,
		N_("the broker {where} rejected the pre-shared key for identity {identity}"),
		N_("the handshake failed with alert {alert}: the broker's list of pre-shared keys (mosquitto: psk_file) has a different key for {identity}, or no entry for it"),
		N_("check --psk-identity and --psk against the broker's pre-shared keys (mosquitto: psk_file, lines of identity:hexkey)")},
	{CAUSE_ALPN_MISMATCH, "alpn-mismatch", STAGE_TLS,
		N_("the broker {where} does not speak ALPN protocol {alpn}"),
		N_("the broker answered alert no_application_protocol (120)"),
		N_("remove --tls-alpn, or give a protocol the broker accepts")},
	{CAUSE_SNI_REJECTED, "sni-rejected", STAGE_TLS,
		N_("{where} does not accept the host name {host} (TLS SNI)"),
		N_("it answered the ClientHello, which named {host} (the server name indication, taken from -h), with alert "
		"unrecognized_name (112): a TLS terminator or load balancer that routes by name (HAProxy with strict-sni, "
		"nginx, a cloud load balancer) has no certificate or route for that name"),
		N_("connect by a name it routes (-h <that name>; map it to the address in /etc/hosts if DNS does not), or add "
		"{host} to its configuration (HAProxy: a crt or crt-list entry for it)")},
	{CAUSE_LEGACY_RENEGOTIATION, "legacy-renegotiation", STAGE_TLS,
		N_("the broker {where} does not support secure renegotiation"),
		N_("OpenSSL 3 refuses servers without RFC 5746 support (unsafe legacy renegotiation disabled)"),
		N_("upgrade the broker's TLS library; smqtt will not enable unsafe legacy renegotiation")},
	{CAUSE_TLS_TO_PLAIN_PORT, "tls-to-plain-port", STAGE_TLS,
		N_("{where} does not speak TLS"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_PLAIN_TO_TLS_PORT, "plain-to-tls-port", STAGE_TLS,
		N_("{where} expects TLS, but this run connected without it"),
		"{detail}",
		N_("add --cafile <ca.crt> (or --tls-use-os-certs) to use TLS on port {port}, or use the broker's plain port (often 1883)")},
	{CAUSE_HANDSHAKE_TIMEOUT, "handshake-timeout", STAGE_TLS,
		N_("no answer from {where} within {seconds} s"),
		"{detail}",
		N_("check that {where} is an MQTT broker port; --connect-timeout sets the limit")},
	{CAUSE_TLS_MESSAGE_TOO_LARGE, "tls-message-too-large", STAGE_TLS,
		N_("the broker {where} sent a TLS handshake message larger than this client accepts"),
		"{detail}",
		N_("make the broker send only its own certificate and its intermediate CAs (its certfile: the server certificate followed by the intermediates), not a CA bundle or oversized certificates; smqtt keeps OpenSSL's limit, which bounds its memory")},
	{CAUSE_TLS_PROTOCOL_ERROR, "tls-protocol-error", STAGE_TLS,
		N_("{where} broke the TLS protocol"),
		"{detail}",
		N_("check that {where} is the broker's TLS port; what answers there (a proxy, a load balancer, another service) does not speak TLS correctly")},
	{CAUSE_TLS_UNCLASSIFIED, "tls-unclassified", STAGE_TLS,
		N_("the TLS connection to {where} failed"),
		"{detail}",
		N_("please report this case: it has no explanation yet; the evidence above is what OpenSSL reported")},

	{CAUSE_MQTT_AUTH_FAILED, "mqtt-auth-failed", STAGE_MQTT,
		N_("the broker {where} refused the connection: {reason}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_MQTT_PROTOCOL_REJECTED, "mqtt-protocol-rejected", STAGE_MQTT,
		N_("the broker {where} refused the MQTT protocol version: {reason}"),
		N_("this run asked for {protocol}, which the broker does not accept"),
		N_("use another protocol version with -V (mqttv311 is the most widely supported)")},
	{CAUSE_MQTT_IDENTIFIER_REJECTED, "mqtt-identifier-rejected", STAGE_MQTT,
		N_("the broker {where} refused the client id: {reason}"),
		"{detail}",
		N_("give an id the broker accepts with -i (short, letters and digits), or check the broker's rules for client ids (mosquitto: clientid_prefixes)")},
	{CAUSE_MQTT_SERVER_UNAVAILABLE, "mqtt-server-unavailable", STAGE_MQTT,
		N_("the broker {where} is not available: {reason}"),
		N_("the broker accepted the connection but said it cannot serve clients now"),
		N_("retry later, or check the broker's log")},
	{CAUSE_MQTT_REFUSED, "mqtt-refused", STAGE_MQTT,
		N_("the broker {where} refused the connection: {reason}"),
		"{detail}",
		N_("check the broker's log for why it refused this client")},
	{CAUSE_BROKER_CLOSED, "broker-closed", STAGE_MQTT,
		N_("the broker {where} closed the connection without answering CONNECT"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_MQTT_PROTOCOL_ERROR, "mqtt-protocol-error", STAGE_MQTT,
		N_("{where} did not answer CONNECT with a valid CONNACK"),
		"{detail}",
		N_("check that {where} is an MQTT broker, not an HTTP, TLS or other service; if it is, the broker or a proxy in front of it is broken: check its log")},
	{CAUSE_MQTT_PACKET_TOO_LARGE, "mqtt-packet-too-large", STAGE_MQTT,
		N_("{where} answered CONNECT with a {packet} announcing {announced} bytes"),
		"{detail}",
		N_("check that {where} is an MQTT broker and that nothing in front of it alters the stream; a broker that sends this is broken: check its log")},
	{CAUSE_MQTT_CONTROL_TOO_LARGE, "mqtt-control-packet-too-large", STAGE_MQTT,
		N_("{where} sent a {packet} announcing {announced} bytes, more than the {limit} bytes any {packet} needs"),
		N_("it came after the CONNACK; this client refused it before reading it, where libmosquitto would have allocated the announced size and waited for all of it"),
		N_("check that nothing in front of {where} (a proxy, a TLS terminator) alters the stream; a broker that sends this is broken: check its log")},
	{CAUSE_MQTT_MESSAGE_TOO_LARGE, "mqtt-message-too-large", STAGE_MQTT,
		N_("{where} sent a {packet} of {announced} bytes, more than the {limit} bytes this run accepts"),
		"{detail}",
		"{fixhint}"},

	{CAUSE_MQTT_TO_HTTP_PORT, "mqtt-to-http-port", STAGE_MQTT,
		N_("{where} speaks HTTP, not plain MQTT"),
		"{detail}",
		N_("this port speaks HTTP/WebSocket: use --ws (or -L {scheme}://{host}:{port}/...) to speak MQTT over WebSocket to it, "
		"or give the broker's MQTT port with -p (often {mqttport})")},

	{CAUSE_WS_PATH_NOT_FOUND, "ws-path-not-found", STAGE_WS,
		N_("{where} has no WebSocket endpoint at {path}: HTTP {status}"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_WS_UNAUTHORIZED, "ws-unauthorized", STAGE_WS,
		N_("{where} refused the WebSocket upgrade at {path}: HTTP {status}"),
		N_("the web server answered {status} {reason}: it wants HTTP authentication or a client the proxy lets through, before any MQTT is spoken; MQTT's -u/-P are only sent after the upgrade"),
		N_("ask the operator of the web server or proxy in front of the broker to let this client through, or connect to the broker's own port")},
	{CAUSE_WS_REDIRECT, "ws-redirect", STAGE_WS,
		N_("{where} redirected the WebSocket upgrade at {path}: HTTP {status} to {location}"),
		N_("the web server answered {status} {reason} with Location: {location}; a WebSocket client does not follow redirects, and neither does mosquitto 2.1"),
		"{fixhint}"},
	{CAUSE_WS_NOT_WEBSOCKET, "ws-not-websocket", STAGE_WS,
		N_("{where} is a web server, not a WebSocket endpoint: HTTP {status} at {path}"),
		"{detail}",
		N_("use the broker's websockets port (mosquitto: listener with protocol websockets), or drop --ws to speak plain MQTT")},
	{CAUSE_WS_NO_SUBPROTOCOL, "ws-no-subprotocol", STAGE_WS,
		N_("{where} accepted the WebSocket upgrade without the mqtt subprotocol"),
		N_("the 101 answer has no Sec-WebSocket-Protocol header, so the endpoint did not agree to carry MQTT; RFC 6455 tells a client to fail then, as mosquitto 2.1 does"),
		N_("point --ws-path (or the proxy's route) at the broker's MQTT endpoint, or configure the endpoint to accept the mqtt subprotocol")},
	{CAUSE_WS_WRONG_SUBPROTOCOL, "ws-wrong-subprotocol", STAGE_WS,
		N_("{where} chose the WebSocket subprotocol {subprotocol}, not mqtt"),
		N_("the upgrade offered only mqtt, and the 101 answer named {subprotocol}: that endpoint speaks something else"),
		N_("point --ws-path (or the proxy's route) at the broker's MQTT endpoint")},
	{CAUSE_WS_BAD_ACCEPT, "ws-bad-accept", STAGE_WS,
		N_("{where} answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept"),
		N_("the accept value must be the SHA-1 of this request's Sec-WebSocket-Key; a wrong one means the answer was not made for this request (a broken server, or a cache or proxy answering in its place)"),
		N_("check the proxy or cache in front of the broker; connect to the broker's websockets port directly to compare")},
	{CAUSE_WS_NOT_HTTP, "ws-not-http", STAGE_WS,
		N_("{where} does not speak HTTP, so no WebSocket upgrade was possible"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_WS_TO_TLS_PORT, "ws-to-tls-port", STAGE_WS,
		N_("{where} expects TLS, but the WebSocket upgrade was sent without it"),
		"{detail}",
		N_("use wss:// (or add --cafile/--capath/--tls-use-os-certs) for this port, or give the broker's plain websockets port")},
	{CAUSE_WS_CLOSED, "ws-closed", STAGE_WS,
		N_("{where} closed the WebSocket with status {code} before the CONNACK"),
		"{detail}",
		"{fixhint}"},
	{CAUSE_WS_PROTOCOL_ERROR, "ws-protocol-error", STAGE_WS,
		N_("{where} broke the WebSocket protocol"),
		"{detail}",
		N_("check the server or proxy at {where}; connect to the broker's websockets port directly to compare")},
	{CAUSE_WS_UPGRADE_TIMEOUT, "ws-upgrade-timeout", STAGE_WS,
		N_("no answer to the WebSocket upgrade from {where} within {seconds} s"),
		"{detail}",
		N_("check that {where} is a websockets listener (mosquitto: protocol websockets); raise --connect-timeout for a slow link")},
	{CAUSE_WS_UNREQUESTED_EXTENSION, "ws-unrequested-extension", STAGE_WS,
		N_("{where} accepted the WebSocket upgrade with an extension this client did not ask for: {extensions}"),
		N_("the upgrade offered no extension, and the 101 answer agreed to {extensions} (Sec-WebSocket-Extensions); its frames would be encoded in a way this client does not read, so RFC 6455 tells a client to fail the connection"),
		N_("configure the server or proxy at {where} not to force that extension on clients that do not offer it, or connect to the broker's websockets port directly")},
	{CAUSE_PROXY_AUTH_REFUSED, "proxy-auth-refused", STAGE_TCP,
		N_("the proxy {proxy} refused the login, so the broker {where} was never reached"),
		"{detail}",
		N_("check the user name and password in --proxy socks5h://USER:PASSWORD@{proxy} (or ask the proxy's operator); -u/-P are for the broker, not the proxy")},
	{CAUSE_PROXY_TARGET_REFUSED, "proxy-target-refused", STAGE_TCP,
		N_("the proxy {proxy} refused to connect to {where}: {rep}"),
		N_("the proxy accepted this client, then answered its CONNECT to {where} with reply code {code} ({rep}, RFC 1928); this client never reached the broker itself, so only the proxy knows more (its log)"),
		"{fixhint}"},
	{CAUSE_PROXY_NO_ANSWER, "proxy-no-answer", STAGE_TCP,
		N_("the proxy {proxy} did not answer the SOCKS5 handshake within {seconds} s"),
		"{detail}",
		N_("check that {proxy} is a SOCKS5 proxy that is running and not overloaded; raise --connect-timeout for a slow link")},
	{CAUSE_PROXY_NOT_SOCKS, "proxy-not-socks", STAGE_TCP,
		N_("the proxy {proxy} does not speak SOCKS5"),
		"{detail}",
		N_("give the host and port of a SOCKS5 proxy in --proxy (ssh -D and Dante listen on 1080 by default); an HTTP proxy cannot be used")},
	{CAUSE_PROFILE_ERROR, "profile-error", STAGE_PROFILE,
		N_("{file}:{line}: {detail}"),
		N_("the profile file could not be used, so nothing was sent"),
		N_("correct that line, or run with --no-profile")},
	{CAUSE_RR_NO_RESPONSE, "rr-no-response", STAGE_MQTT,
		N_("no {awaited} within -W {seconds} s"),
		"{detail}",
		"{fixhint}"},
};

const struct cause_info *cause_info(enum cause c)
{
	return (c >= 0 && c < CAUSE_COUNT) ? &table[c] : &table[CAUSE_TLS_UNCLASSIFIED];
}

const struct cause_info *cause_by_id(const char *id)
{
	for (size_t i = 0; i < CAUSE_COUNT; i++)
		if (!strcmp(table[i].id, id))
			return &table[i];
	return NULL;
}

const char *stage_name(enum stage s)
{
	static const char *names[] = {"profile", "preflight", "resolve", "tcp", "tls", "websocket", "mqtt"};
	return (s >= STAGE_PROFILE && s <= STAGE_MQTT) ? names[s] : "tls";
}

static char *expand(const char *tmpl, const struct slot *slots, size_t nslots, bool local)
{
	size_t cap = strlen(tmpl) + 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = tmpl; *p; ) {
		const char *val = NULL;
		size_t skip = 1;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			for (size_t i = 0; end && i < nslots; i++) {
				size_t n = strlen(slots[i].name);
				if ((size_t)(end - p - 1) == n && !strncmp(p + 1, slots[i].name, n) && slots[i].value) {
					val = local && slots[i].local ? slots[i].local : slots[i].value;
					skip = n + 2;
					break;
				}
			}
		}
		size_t add = val ? strlen(val) : 1;
		if (len + add + 1 > cap) {
			cap = (len + add + 1) * 2;
			char *g = realloc(out, cap);
			if (!g) {
				free(out);
				return NULL;
			}
			out = g;
		}
		memcpy(out + len, val ? val : p, add);
		len += add;
		p += skip;
	}
	out[len] = '\0';
	return out;
}

char *explain_expand(const char *tmpl, const struct slot *slots, size_t nslots)
{
	return expand(tmpl, slots, nslots, false);
}

char *explain_expand_local(const char *tmpl, const struct slot *slots, size_t nslots)
{
	return expand(tmpl, slots, nslots, true);
}

/* ---- the classifier ---------------------------------------------------- */

#include <errno.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <mqtt_protocol.h>
#include "ws.h"

void evidence_init(struct evidence *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->verify_error = -1;
	ev->alert_sent = -1;
	ev->alert_received = -1;
	ev->connack = -1;
	ev->ws_upgrade = -1;
	ev->proxy_rep = -1;
	ev->ws_close_code = -1;
}

void evidence_reset_attempt(struct evidence *ev)
{
	struct evidence keep = *ev;
	evidence_init(ev);
	ev->protocol_version = keep.protocol_version;
	ev->requested_min = keep.requested_min;
	ev->attempts = keep.attempts;
	ev->ws = keep.ws;
	memcpy(ev->ws_path, keep.ws_path, sizeof(ev->ws_path));
}

static enum cause classify_verify(const struct evidence *ev)
{
	switch (ev->verify_error) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return CAUSE_HOSTNAME_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return CAUSE_SERVER_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return CAUSE_SERVER_CERT_NOT_YET_VALID;
	case X509_V_ERR_INVALID_PURPOSE:
		return CAUSE_SERVER_CERT_WRONG_PURPOSE;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		/* a leaf named like its CA is taken for self-signed */
		return CAUSE_SERVER_CERT_SELF_SIGNED;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return CAUSE_SERVER_CERT_UNTRUSTED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		/* depth > 0 missing issuer of an intermediate, or the broker
		 * sent only its leaf signed by an intermediate we lack */
		return ev->verify_depth == 0 ? CAUSE_SERVER_CHAIN_INCOMPLETE : CAUSE_SERVER_CERT_UNTRUSTED;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return CAUSE_WEAK_CRYPTO;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return CAUSE_SERVER_CERT_UNTRUSTED;
	default:
		return CAUSE_SERVER_CERT_UNTRUSTED;
	}
}

static enum cause classify_alert(const struct evidence *ev, int alert)
{
	switch (alert) {
	case SSL_AD_PROTOCOL_VERSION: return CAUSE_PROTOCOL_VERSION_MISMATCH;
	case SSL_AD_INAPPROPRIATE_FALLBACK: return CAUSE_INAPPROPRIATE_FALLBACK;
	case SSL_AD_NO_APPLICATION_PROTOCOL: return CAUSE_ALPN_MISMATCH;
	case SSL_AD_UNRECOGNIZED_NAME: return CAUSE_SNI_REJECTED;
	case SSL_AD_CERTIFICATE_REQUIRED: return CAUSE_CLIENT_CERT_REQUIRED;
	case SSL_AD_UNKNOWN_CA: return CAUSE_CLIENT_CERT_UNKNOWN_CA;
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_ACCESS_DENIED:
		return CAUSE_CLIENT_CERT_REJECTED;
	case SSL_AD_UNKNOWN_PSK_IDENTITY:
		return CAUSE_PSK_MISMATCH;
	case SSL_AD_DECRYPT_ERROR:
	case SSL_AD_BAD_RECORD_MAC:
		return ev->used_psk ? CAUSE_PSK_MISMATCH : CAUSE_TLS_UNCLASSIFIED;
	case SSL_AD_HANDSHAKE_FAILURE:
		if (ev->used_psk)
			return CAUSE_PSK_MISMATCH;
		/* TLS 1.2 brokers send handshake_failure both for "no certificate"
		 * and for "no shared cipher"; the cert case is told by whether we
		 * had one to send after the server asked for it */
		return ev->server_hello_seen && !ev->sent_client_cert ? CAUSE_CLIENT_CERT_REQUIRED : CAUSE_NO_SHARED_CIPHER;
	case SSL_AD_ILLEGAL_PARAMETER:
		/* mosquitto answers a wrong PSK with illegal_parameter */
		return ev->used_psk ? CAUSE_PSK_MISMATCH : CAUSE_NO_SHARED_CIPHER;
	case SSL_AD_INSUFFICIENT_SECURITY:
		return CAUSE_NO_SHARED_CIPHER;
	default:
		return CAUSE_TLS_UNCLASSIFIED;
	}
}

/* The upgrade failed, or the frames before the CONNACK did. */
static enum cause classify_ws(const struct evidence *ev)
{
	if (ev->ws_error)
		return CAUSE_WS_PROTOCOL_ERROR;
	if (ev->ws_close_code >= 0)
		return CAUSE_WS_CLOSED;
	if (ev->timed_out)
		return CAUSE_WS_UPGRADE_TIMEOUT;
	switch (ev->ws_upgrade) {
	case WS_HEAD_STATUS:
		if (ev->http_status == 404)
			return CAUSE_WS_PATH_NOT_FOUND;
		if (ev->http_status == 401 || ev->http_status == 403 || ev->http_status == 407)
			return CAUSE_WS_UNAUTHORIZED;
		if (ev->http_status >= 300 && ev->http_status < 400)
			return CAUSE_WS_REDIRECT;
		return CAUSE_WS_NOT_WEBSOCKET;
	case WS_HEAD_NO_UPGRADE: return CAUSE_WS_NOT_WEBSOCKET;
	case WS_HEAD_BAD_ACCEPT: return CAUSE_WS_BAD_ACCEPT;
	case WS_HEAD_NO_SUBPROTOCOL: return CAUSE_WS_NO_SUBPROTOCOL;
	case WS_HEAD_WRONG_SUBPROTOCOL: return CAUSE_WS_WRONG_SUBPROTOCOL;
	case WS_HEAD_EXTENSION: return CAUSE_WS_UNREQUESTED_EXTENSION;
	case WS_HEAD_TOO_LARGE: return CAUSE_WS_PROTOCOL_ERROR;
	default:
		break;
	}
	/* not HTTP, or no answer at all */
	bool tls_bytes = ev->ws_first_len >= 2 && (ev->ws_first[0] == 0x15 || ev->ws_first[0] == 0x16) && ev->ws_first[1] == 0x03;
	if (!ev->used_tls && (tls_bytes || (ev->ws_first_len == 0 && ev->probe_tls_answered)))
		return CAUSE_WS_TO_TLS_PORT;
	return CAUSE_WS_NOT_HTTP;
}

enum cause classify(const struct evidence *ev)
{
	if (ev->gate_refused) /* after the CONNACK (pktgate.h) */
		return ev->gate_type >= 0 && (ev->gate_type & 0xf0) != 0x30 ? CAUSE_MQTT_CONTROL_TOO_LARGE
			: CAUSE_MQTT_MESSAGE_TOO_LARGE;
	switch (ev->proxy_result) { /* the proxy stopped it: the broker was not reached */
	case SOCKS_METHOD_REFUSED: case SOCKS_AUTH_REFUSED: return CAUSE_PROXY_AUTH_REFUSED;
	case SOCKS_TARGET_REFUSED: return CAUSE_PROXY_TARGET_REFUSED;
	case SOCKS_NO_ANSWER: return CAUSE_PROXY_NO_ANSWER;
	case SOCKS_NOT_SOCKS: case SOCKS_CLOSED: return CAUSE_PROXY_NOT_SOCKS;
	default: break;
	}
	if (ev->stage == STAGE_WS)
		return classify_ws(ev);
	if (ev->stage == STAGE_MQTT && ev->ws && ev->connack < 0 && (ev->ws_error || ev->ws_close_code >= 0))
		return classify_ws(ev);
	if (ev->eai)
		return CAUSE_DNS_FAILURE;
	if (ev->stage == STAGE_RESOLVE)
		return CAUSE_DNS_FAILURE;
	if (ev->stage == STAGE_TCP) {
		if (ev->timed_out)
			return CAUSE_CONNECT_TIMEOUT;
		switch (ev->sys_errno) {
		case ECONNREFUSED: return CAUSE_CONNECTION_REFUSED;
		case ETIMEDOUT: return CAUSE_CONNECT_TIMEOUT;
		case ENETUNREACH: case EHOSTUNREACH: case EADDRNOTAVAIL: return CAUSE_NETWORK_UNREACHABLE;
		default: return CAUSE_NETWORK_UNREACHABLE;
		}
	}
	if (ev->stage == STAGE_MQTT) {
		if (ev->connack < 0) {
			/* bytes came back, but not a CONNACK */
			if (ev->reply_len > 0) {
				if (!ev->ws && ev->reply_len >= 5 && !memcmp(ev->reply, "HTTP/", 5))
					return CAUSE_MQTT_TO_HTTP_PORT;
				enum reply_kind k = mqtt_reply_kind(ev->reply, (size_t)ev->reply_len, NULL);
				if (k == REPLY_TOO_LONG)
					return CAUSE_MQTT_PACKET_TOO_LARGE;
				return !ev->used_tls && k == REPLY_TLS ? CAUSE_PLAIN_TO_TLS_PORT : CAUSE_MQTT_PROTOCOL_ERROR;
			}
			if (!ev->ws && ev->probe_http[0])
				return CAUSE_MQTT_TO_HTTP_PORT;
			if (ev->timed_out)
				return CAUSE_HANDSHAKE_TIMEOUT;
			if (!ev->used_tls && ev->probe_tls_answered)
				return CAUSE_PLAIN_TO_TLS_PORT;
			/* close_notify after the handshake: the peer ended the
			 * session cleanly, as a TLS terminator (HAProxy, nginx,
			 * stunnel) does when the broker behind it is down */
			if (ev->used_tls && ev->alert_received >= 0 && ev->alert_received != SSL_AD_CLOSE_NOTIFY)
				return classify_alert(ev, ev->alert_received);
			/* it asked for a certificate, got none and ended the session:
			 * nginx's ssl_verify_client on does that without an alert */
			if (ev->used_tls && ev->alert_received == SSL_AD_CLOSE_NOTIFY && ev->cert_requested && !ev->sent_client_cert)
				return CAUSE_CLIENT_CERT_REQUIRED;
			return CAUSE_BROKER_CLOSED;
		}
		switch (ev->connack) {
		case 1: return CAUSE_MQTT_PROTOCOL_REJECTED;
		case 2: return CAUSE_MQTT_IDENTIFIER_REJECTED;
		case 3: return CAUSE_MQTT_SERVER_UNAVAILABLE;
		case 4: case 5: return CAUSE_MQTT_AUTH_FAILED;
		case MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION: return CAUSE_MQTT_PROTOCOL_REJECTED;
		case MQTT_RC_CLIENTID_NOT_VALID: return CAUSE_MQTT_IDENTIFIER_REJECTED;
		case MQTT_RC_SERVER_UNAVAILABLE: case MQTT_RC_SERVER_BUSY: return CAUSE_MQTT_SERVER_UNAVAILABLE;
		case MQTT_RC_BAD_USERNAME_OR_PASSWORD: case MQTT_RC_NOT_AUTHORIZED: case MQTT_RC_BANNED:
		case MQTT_RC_BAD_AUTHENTICATION_METHOD:
			return CAUSE_MQTT_AUTH_FAILED;
		default: return CAUSE_MQTT_REFUSED;
		}
	}
	/* TLS stage */
	if (ev->timed_out)
		return CAUSE_HANDSHAKE_TIMEOUT;
	if (ev->verify_error >= 0 && ev->verify_error != X509_V_OK)
		return classify_verify(ev);
	if (ev->hostname_mismatch)
		return CAUSE_HOSTNAME_MISMATCH;
	if (ev->alert_received >= 0)
		return classify_alert(ev, ev->alert_received);
	switch (ev->ssl_reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		return CAUSE_TLS_TO_PLAIN_PORT;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		return CAUSE_PROTOCOL_VERSION_MISMATCH;
	case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED:
		return CAUSE_LEGACY_RENEGOTIATION;
	case SSL_R_NO_CIPHERS_AVAILABLE:
	case SSL_R_NO_SHARED_CIPHER:
		return CAUSE_NO_SHARED_CIPHER;
	case SSL_R_EE_KEY_TOO_SMALL:
	case SSL_R_CA_MD_TOO_WEAK:
	case SSL_R_CA_KEY_TOO_SMALL:
		return CAUSE_WEAK_CRYPTO;
	case SSL_R_EXCESSIVE_MESSAGE_SIZE:
		/* a Certificate (or CertificateRequest) over max_cert_list */
		return CAUSE_TLS_MESSAGE_TOO_LARGE;
	default:
		break;
	}
	if (ev->non_tls_reply)
		return CAUSE_TLS_TO_PLAIN_PORT;
	if (ev->client_hello_sent && !ev->server_hello_seen && ev->peer_closed)
		return ev->probe_tls_answered ? CAUSE_PROTOCOL_VERSION_MISMATCH : CAUSE_TLS_TO_PLAIN_PORT;
	/* we refused what the peer sent as malformed or out of place */
	switch (ev->alert_sent) {
	case SSL_AD_UNEXPECTED_MESSAGE:
	case SSL_AD_DECODE_ERROR:
	case SSL_AD_ILLEGAL_PARAMETER:
	case SSL_AD_RECORD_OVERFLOW:
		return CAUSE_TLS_PROTOCOL_ERROR;
	default:
		break;
	}
	return CAUSE_TLS_UNCLASSIFIED;
}

enum reply_kind mqtt_reply_kind(const unsigned char *b, size_t n, unsigned long *announced)
{
	unsigned long len = 0, mult = 1;
	if (announced)
		*announced = 0;
	if (n == 0)
		return REPLY_NONE;
	/* a TLS record: content type 20-23, then version major 3; as MQTT
	 * these would be CONNECT, which a broker never sends */
	if (b[0] >= 0x14 && b[0] <= 0x17 && (n < 2 || b[1] == 0x03))
		return REPLY_TLS;
	if (b[0] != 0x20 && b[0] != 0xf0) /* CONNACK, or AUTH (MQTT v5) */
		return REPLY_NOT_MQTT;
	for (size_t i = 1; i <= 4; i++) {
		if (i >= n)
			return REPLY_PARTIAL;
		len += (unsigned long)(b[i] & 0x7f) * mult;
		mult *= 128;
		if (!(b[i] & 0x80)) {
			if (announced)
				*announced = len;
			return len > MQTT_FIRST_REPLY_MAX ? REPLY_TOO_LONG : REPLY_CONNACK;
		}
	}
	return REPLY_BAD_LENGTH; /* a fifth length byte */
}
