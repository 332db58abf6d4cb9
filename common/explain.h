/* explain: the failure-cause catalogue (stable IDs, stage, and the summary /
 * why / fix templates) and the pure classifier that maps evidence to a
 * cause. Text comes from the table only; callers fill in named slots. */
#ifndef SMQTT_EXPLAIN_H
#define SMQTT_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

enum stage { STAGE_PROFILE, STAGE_PREFLIGHT, STAGE_RESOLVE, STAGE_TCP, STAGE_TLS, STAGE_WS, STAGE_MQTT };

enum cause {
	/* preflight */
	CAUSE_FILE_UNREADABLE, CAUSE_FILE_NOT_PEM, CAUSE_CAFILE_NOT_CA, CAUSE_CA_SUBJECT_EQUALS_LEAF,
	CAUSE_CERT_EXPIRED, CAUSE_CERT_NOT_YET_VALID, CAUSE_CERT_EXPIRING, CAUSE_KEY_MISMATCH, CAUSE_KEY_ENCRYPTED,
	CAUSE_CERT_NOT_FOR_CLIENT, CAUSE_WEAK_CRYPTO,
	/* network */
	CAUSE_DNS_FAILURE, CAUSE_CONNECTION_REFUSED, CAUSE_CONNECT_TIMEOUT, CAUSE_NETWORK_UNREACHABLE,
	/* TLS, verifying the broker */
	CAUSE_SERVER_CERT_UNTRUSTED, CAUSE_SERVER_CERT_SELF_SIGNED, CAUSE_SERVER_CHAIN_INCOMPLETE,
	CAUSE_HOSTNAME_MISMATCH, CAUSE_SERVER_CERT_EXPIRED, CAUSE_SERVER_CERT_NOT_YET_VALID,
	CAUSE_SERVER_CERT_WRONG_PURPOSE,
	/* TLS, the broker rejected us */
	CAUSE_CLIENT_CERT_REQUIRED, CAUSE_CLIENT_CERT_UNKNOWN_CA, CAUSE_CLIENT_CERT_REJECTED,
	CAUSE_PROTOCOL_VERSION_MISMATCH, CAUSE_INAPPROPRIATE_FALLBACK, CAUSE_NO_SHARED_CIPHER,
	CAUSE_PSK_MISMATCH, CAUSE_ALPN_MISMATCH, CAUSE_SNI_REJECTED, CAUSE_LEGACY_RENEGOTIATION, CAUSE_TLS_TO_PLAIN_PORT,
	CAUSE_PLAIN_TO_TLS_PORT, CAUSE_HANDSHAKE_TIMEOUT, CAUSE_TLS_MESSAGE_TOO_LARGE, CAUSE_TLS_PROTOCOL_ERROR,
	CAUSE_TLS_UNCLASSIFIED,
	/* MQTT */
	CAUSE_MQTT_AUTH_FAILED, CAUSE_MQTT_PROTOCOL_REJECTED, CAUSE_MQTT_IDENTIFIER_REJECTED,
	CAUSE_MQTT_SERVER_UNAVAILABLE, CAUSE_MQTT_REFUSED, CAUSE_BROKER_CLOSED, CAUSE_MQTT_PROTOCOL_ERROR,
	CAUSE_MQTT_PACKET_TOO_LARGE, CAUSE_MQTT_CONTROL_TOO_LARGE, CAUSE_MQTT_MESSAGE_TOO_LARGE,
	CAUSE_MQTT_TO_HTTP_PORT,
	/* MQTT over WebSockets: the upgrade and the frames */
	CAUSE_WS_PATH_NOT_FOUND, CAUSE_WS_UNAUTHORIZED, CAUSE_WS_REDIRECT, CAUSE_WS_NOT_WEBSOCKET,
	CAUSE_WS_NO_SUBPROTOCOL, CAUSE_WS_WRONG_SUBPROTOCOL, CAUSE_WS_BAD_ACCEPT, CAUSE_WS_NOT_HTTP,
	CAUSE_WS_TO_TLS_PORT, CAUSE_WS_CLOSED, CAUSE_WS_PROTOCOL_ERROR, CAUSE_WS_UPGRADE_TIMEOUT,
	CAUSE_WS_UNREQUESTED_EXTENSION,
	/* a SOCKS5 proxy (--proxy) */
	CAUSE_PROXY_AUTH_REFUSED, CAUSE_PROXY_TARGET_REFUSED, CAUSE_PROXY_NO_ANSWER, CAUSE_PROXY_NOT_SOCKS,
	/* profile */
	CAUSE_PROFILE_ERROR,
	/* smqtt_rr: -W ran out */
	CAUSE_RR_NO_RESPONSE,
	CAUSE_COUNT
};

struct cause_info {
	enum cause cause;
	const char *id;       /* stable, e.g. "cafile-not-ca" */
	enum stage stage;
	const char *summary;  /* template for the "Error:" line (English; N_() marked) */
	const char *why;      /* template */
	const char *fix;      /* template */
};

const struct cause_info *cause_info(enum cause c);
const struct cause_info *cause_by_id(const char *id);
const char *stage_name(enum stage s);

/* What was observed when a connection failed: filled by the TLS layer's
 * callbacks, the connect code and the probes; classified by a pure
 * function. -1 means "not seen" for the int fields. */
struct evidence {
	enum stage stage;          /* where it stopped */
	int sys_errno;             /* connect()/read() errno, 0 if none */
	int eai;                   /* getaddrinfo error, 0 if none */
	bool timed_out;            /* --connect-timeout expired */
	bool used_tls;
	bool used_psk;
	bool sent_client_cert;     /* a certificate was configured and sent */
	bool cert_requested;       /* the broker asked for one (we wrote a Certificate message) */
	bool client_hello_sent;
	bool server_hello_seen;
	bool handshake_done;
	bool peer_closed;          /* EOF from the peer */
	bool non_tls_reply;        /* bytes that are not a TLS record */
	int verify_error;          /* X509_V_ERR_*, -1 */
	int verify_depth;
	bool leaf_self_issued;     /* depth-0 cert has subject == issuer */
	bool hostname_mismatch;
	int alert_sent;            /* last alert we sent, -1 */
	int alert_received;        /* last alert the peer sent, -1 */
	int ssl_reason;            /* ERR_GET_REASON of the first queued error, 0 */
	bool ssl_reason_is_version; /* that reason is about the protocol version */
	int tls_version_max;       /* highest version offered (TLS1_x_VERSION), 0 */
	bool fallback_scsv;        /* this attempt was a step-down with SCSV */
	int requested_min;         /* the lowest TLS version this run allows */
	unsigned broker_versions;  /* probe: bit (v & 0xf) set per version answered */
	int attempts;              /* TLS attempts made */
	int connack;               /* CONNACK / v5 reason code, -1 */
	int protocol_version;      /* MQTT protocol version in use */
	bool probe_tls_answered;   /* a post-mortem ClientHello got a TLS reply */
	bool probe_mqtt_answered;  /* a post-mortem MQTT CONNECT got a CONNACK */
	bool probes_cut;           /* a post-mortem probe was not made (or cut short): --connect-timeout had run out */
	bool probes_proxy;         /* the direct probes were left out: --proxy (they would bypass it) */
	char probe_http[64];       /* the status line a post-mortem HTTP GET got, "" */
	unsigned char reply[16];   /* the first bytes the broker sent before a CONNACK (plain MQTT) */
	int reply_len;
	bool reply_checked;        /* the header of that first packet has been judged */
	int mqtt_rc;               /* the libmosquitto error that ended the connection before a CONNACK, 0 */
	/* MQTT over WebSockets */
	bool ws;                   /* the run uses it (kept across attempts) */
	char ws_path[256];         /* the path the upgrade asked for (kept) */
	int ws_upgrade;            /* how the upgrade response was judged (enum ws_head_result), -1: none came */
	int http_status;           /* its status code, 0 */
	char http_reason[64];
	char http_location[256];   /* Location of a 3xx */
	char http_server[64];      /* Server */
	char ws_subprotocol[64];   /* Sec-WebSocket-Protocol answered */
	char ws_extensions[64];    /* Sec-WebSocket-Extensions answered (none is asked for) */
	unsigned char ws_first[8]; /* the first bytes of the answer */
	int ws_first_len;
	bool ws_open;              /* the upgrade succeeded */
	int ws_close_code;         /* the server's close status, -1 */
	char ws_close_reason[124];
	int ws_error;              /* a protocol error in its frames (enum ws_error), 0 */
	const char *ws_error_text; /* its description (static) */
	char proxy_error[128];     /* a SOCKS5 proxy's refusal, "" */
	int proxy_result;          /* how the SOCKS5 handshake ended (enum socks_result), 0: fine or none */
	int proxy_rep;             /* the proxy's CONNECT reply code, -1 */
	unsigned char proxy_first[8]; /* the first bytes the proxy sent */
	int proxy_first_len;
	/* after the CONNACK: a packet refused by the packet gate (pktgate.h) */
	bool gate_refused;
	int gate_type;             /* its first byte; -1: judged by size alone */
	unsigned long long gate_announced; /* its remaining length (size alone: bytes read) */
	unsigned long long gate_limit;     /* the bound it broke */
	int gate_source;           /* enum pktgate_source: where the PUBLISH bound comes from */
};

void evidence_init(struct evidence *ev);

/* Clear what one TLS attempt saw, keeping the run's settings and count. */
void evidence_reset_attempt(struct evidence *ev);

/* The pure classifier: evidence in, cause out. */
enum cause classify(const struct evidence *ev);

/* What the first bytes a broker sends after CONNECT are (pure): a
 * plausible CONNACK (or v5 AUTH) header, not enough bytes yet to tell, or
 * something that cannot start a CONNACK. announced: the remaining length,
 * once known. A CONNACK is a few bytes; anything announcing more than
 * MQTT_FIRST_REPLY_MAX is refused before libmosquitto allocates it. */
#define MQTT_FIRST_REPLY_MAX (1024UL * 1024UL)
enum reply_kind { REPLY_NONE, REPLY_PARTIAL, REPLY_CONNACK, REPLY_NOT_MQTT, REPLY_TLS, REPLY_BAD_LENGTH, REPLY_TOO_LONG };
enum reply_kind mqtt_reply_kind(const unsigned char *b, size_t n, unsigned long *announced);

/* Named values for a template: {name} in a template is replaced by the
 * value; an unknown {name} is left as it is. */
struct slot {
	const char *name;
	const char *value;
	const char *local; /* the value in the user's language when it is a sentence; NULL: value */
};

/* Expand tmpl with the slots (allocated). */
char *explain_expand(const char *tmpl, const struct slot *slots, size_t nslots);

/* The same with each slot's local value where it has one (for a template
 * already in the user's language). */
char *explain_expand_local(const char *tmpl, const struct slot *slots, size_t nslots);

#endif
