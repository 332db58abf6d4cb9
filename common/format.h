/* format: renders one received message the way mosquitto_sub prints it
 * (default, -v, -N, -F format strings, %j/%J JSON, --pretty). Pure: the
 * time is passed in and the bytes go into an outbuf. */
#ifndef SMQTT_FORMAT_H
#define SMQTT_FORMAT_H

#include <stdbool.h>
#include <time.h>
#include <mosquitto.h>
#include "outbuf.h"

struct fmt_opts {
	const char *format; /* -F, or NULL */
	bool verbose;       /* -v */
	bool eol;           /* false with -N */
	bool pretty;        /* --pretty */
	bool compat21;      /* mosquitto 2.1's output where it differs from 2.0 */
};

struct fmt_msg {
	const char *topic;
	const void *payload; /* NUL-terminated after payloadlen, as libmosquitto gives it */
	int payloadlen;
	int qos;
	bool retain;
	int mid;
	const mosquitto_property *props;
};

/* Append the rendering of msg to out. Problems that mosquitto reports but
 * carries on after (invalid JSON for %J, once per %J) are returned in *cause
 * (allocated; the caller prints and frees it). */
void format_message(struct outbuf *out, const struct fmt_opts *opts,
		const struct fmt_msg *msg, const struct timespec *now, char **cause);

#endif
