/* ws: the WebSocket protocol (RFC 6455) as smqtt's MQTT-over-WebSocket
 * transport needs it, as pure functions over buffers: the client's upgrade
 * request, the check of the server's upgrade response, and the framing
 * (masked client frames out; server frames in, with fragmentation, ping,
 * pong and close). Nothing here touches a socket: the relay feeds bytes in
 * and sends what comes out. These are the fuzzing and cmocka targets. */
#ifndef SMQTT_WS_H
#define SMQTT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most an upgrade response's head (status line and headers) may take. */
#define WS_MAX_HEAD 16384

/* Sec-WebSocket-Key: 16 random bytes in base64 (24 characters + NUL). */
#define WS_KEY_LEN 25

/* Fill key with a fresh Sec-WebSocket-Key; false when no randomness. */
bool ws_make_key(char key[WS_KEY_LEN]);

/* The Sec-WebSocket-Accept a server must answer to key (28 chars + NUL). */
void ws_accept_for(const char *key, char out[29]);

/* The upgrade request: GET path, Host (with the port unless it is the
 * scheme's default), the mqtt subprotocol, version 13. Allocated. */
char *ws_request(const char *host, int port, bool tls, const char *path, const char *key);

enum ws_head_result {
	WS_HEAD_INCOMPLETE = 0, /* read more */
	WS_HEAD_OK,             /* 101, upgrade, accept and subprotocol right */
	WS_HEAD_NOT_HTTP,       /* the first bytes are not an HTTP status line */
	WS_HEAD_TOO_LARGE,      /* no end of the head within WS_MAX_HEAD */
	WS_HEAD_STATUS,         /* an HTTP status other than 101 */
	WS_HEAD_NO_UPGRADE,     /* 101 without Upgrade: websocket / Connection: Upgrade */
	WS_HEAD_BAD_ACCEPT,     /* Sec-WebSocket-Accept missing or wrong */
	WS_HEAD_NO_SUBPROTOCOL, /* no Sec-WebSocket-Protocol */
	WS_HEAD_WRONG_SUBPROTOCOL, /* a subprotocol other than mqtt */
	WS_HEAD_EXTENSION,      /* Sec-WebSocket-Extensions: none was asked for (RFC 6455 4.1) */
};

/* What the server's upgrade response said. */
struct ws_head {
	int status;            /* the HTTP status code, 0 before the status line */
	char reason[64];       /* its reason phrase, cut */
	char location[256];    /* Location (3xx), cut; "" when none */
	char subprotocol[64];  /* Sec-WebSocket-Protocol, cut */
	char server[64];       /* Server, cut */
	char extensions[64];   /* Sec-WebSocket-Extensions, cut; "" when none */
	size_t head_len;       /* bytes of the head, blank line included (OK) */
};

/* Check the response in buf[0..len) against the request's key. */
enum ws_head_result ws_parse_head(const uint8_t *buf, size_t len, const char *key, struct ws_head *h);

enum ws_opcode {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA,
};

/* The header of a client frame (always masked) carrying len bytes; the
 * payload then follows, masked with mask (ws_mask). Returns the header's
 * length (2 to 14 bytes). */
size_t ws_frame_header(uint8_t out[14], enum ws_opcode op, bool fin, uint64_t len, const uint8_t mask[4]);

/* XOR data in place with the mask, starting at payload offset off. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off);

/* Incremental decoder of the server's frames. */
struct ws_decoder {
	uint64_t max_message;  /* bound on one message (all its fragments) */
	/* state */
	uint8_t hdr[14];
	size_t hdr_have;
	uint64_t left;         /* payload bytes of the current frame still to come */
	uint8_t op;            /* opcode of the current frame */
	bool fin;
	bool in_message;       /* a data message has begun and not finished */
	uint64_t message_len;  /* bytes of the current data message so far */
	uint8_t ctl[125];      /* a control frame's payload */
	size_t ctl_have;
};

enum ws_event_kind {
	WS_EV_NONE = 0,
	WS_EV_DATA,    /* payload bytes of a binary message (data, len) */
	WS_EV_PING,    /* a ping with its payload (answer with a pong) */
	WS_EV_PONG,
	WS_EV_CLOSE,   /* close: code (1005 when none), reason */
	WS_EV_ERROR,   /* a protocol error: error says which; stop reading */
};

enum ws_error {
	WS_ERR_NONE = 0,
	WS_ERR_MASKED,          /* a masked frame from the server (1002) */
	WS_ERR_RESERVED,        /* RSV bits set without an extension (1002) */
	WS_ERR_OPCODE,          /* an unknown opcode (1002) */
	WS_ERR_TEXT,            /* a text frame: MQTT is binary (1003) */
	WS_ERR_CONTROL,         /* a fragmented or over-long control frame (1002) */
	WS_ERR_CONTINUATION,    /* continuation without a message, or a new one inside one (1002) */
	WS_ERR_TOO_BIG,         /* a frame or message over the bound (1009) */
	WS_ERR_LENGTH,          /* a length that is not minimal or has the top bit set (1002) */
	WS_ERR_CLOSE_PAYLOAD,   /* a close frame of 1 byte, or an invalid code (1002) */
	WS_ERR_TRUNCATED,       /* the connection ended inside a frame (set by the relay) */
};

struct ws_event {
	enum ws_event_kind kind;
	const uint8_t *data;   /* DATA, PING, PONG: points into the input or ctl */
	size_t len;
	int code;              /* CLOSE */
	char reason[124];      /* CLOSE, NUL-terminated, cut */
	enum ws_error error;   /* ERROR */
};

void ws_decoder_init(struct ws_decoder *d, uint64_t max_message);

/* Decode from buf[0..len): returns how many bytes were used up to and
 * including the one event it stores in *ev (WS_EV_NONE when all of buf was
 * used without completing one). Call again with the rest. */
size_t ws_decode(struct ws_decoder *d, const uint8_t *buf, size_t len, struct ws_event *ev);

/* The close status code to send for a decoder error (1002, 1003, 1009). */
int ws_error_close_code(enum ws_error e);

/* The meaning of a close status code (RFC 6455 7.4.1), N_() marked. */
const char *ws_close_code_text(int code);

/* A short English description of a decoder error, for explanations. */
const char *ws_error_text(enum ws_error e);

#endif
