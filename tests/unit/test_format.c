/* test_format: mosquitto_sub's output rendering (common/format.c):
 * default, -v and -N modes, every -F % specifier with width / '-' / '0' /
 * precision (mosquitto's quirks included), every backslash escape, @ time
 * fields at a fixed time in TZ=UTC, %j / %J JSON (and --pretty), and the
 * MQTT v5 property specifiers. Expected bytes follow mosquitto_sub 2.0.11
 * (client/sub_client_output.c). */
#include "test_common.h"

#include <time.h>
#include <mqtt_protocol.h>

#include "format.h"

/* 2020-05-06T21:48:00.123456789Z */
#define NOW_SEC 1588801680
#define NOW_NSEC 123456789L
#define TST "2020-05-06T21:48:00.123456Z+0000"

/* v5 properties, added in order with mosquitto_property_add_*. */
struct pspec {
	int id;           /* 0 ends the list */
	const char *s;    /* string / binary / pair name */
	const char *s2;   /* pair value */
	uint32_t n;       /* number */
	uint16_t blen;    /* binary length; 0 = strlen(s) */
};

#define P_CT(v)   {MQTT_PROP_CONTENT_TYPE, v, NULL, 0, 0}
#define P_RT(v)   {MQTT_PROP_RESPONSE_TOPIC, v, NULL, 0, 0}
#define P_CD(v)   {MQTT_PROP_CORRELATION_DATA, v, NULL, 0, 0}
#define P_CDN(v, n) {MQTT_PROP_CORRELATION_DATA, v, NULL, 0, n}
#define P_ME(v)   {MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, NULL, NULL, v, 0}
#define P_PF(v)   {MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, NULL, NULL, v, 0}
#define P_TA(v)   {MQTT_PROP_TOPIC_ALIAS, NULL, NULL, v, 0}
#define P_SI(v)   {MQTT_PROP_SUBSCRIPTION_IDENTIFIER, NULL, NULL, v, 0}
#define P_UP(k, v) {MQTT_PROP_USER_PROPERTY, k, v, 0, 0}

struct mcase {
	const char *name;
	const char *format; /* -F, or NULL */
	bool verbose, noeol, pretty;
	const char *topic;
	const char *payload; /* NULL: a zero-length message, as libmosquitto gives it */
	int payloadlen;      /* -1: strlen(payload) */
	int qos;
	bool retain;
	int mid;
	struct pspec props[10];
	const char *want;    /* expected bytes */
	int wantlen;         /* -1: strlen(want) */
	const char *cause;   /* expected cause, or NULL */
};

#define L -1
#define NOPROPS {{0}}

static const struct mcase mcases[] = {
	/* -- default, -v, -N -- */
	{"default", NULL, 0, 0, 0, "t", "hello", L, 0, 0, 0, NOPROPS, "hello\n", L, NULL},
	{"default -N", NULL, 0, 1, 0, "t", "hello", L, 0, 0, 0, NOPROPS, "hello", L, NULL},
	{"default empty payload", NULL, 0, 0, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "", L, NULL},
	{"default empty payload -N", NULL, 0, 1, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "", L, NULL},
	{"default binary payload", NULL, 0, 0, 0, "t", "a\0b\xff", 4, 0, 0, 0, NOPROPS, "a\0b\xff\n", 5, NULL},
	{"default payload with newline", NULL, 0, 0, 0, "t", "l1\nl2", L, 0, 0, 0, NOPROPS, "l1\nl2\n", L, NULL},
	{"-v", NULL, 1, 0, 0, "a/b", "hello", L, 1, 1, 7, NOPROPS, "a/b hello\n", L, NULL},
	{"-v -N", NULL, 1, 1, 0, "a/b", "hello", L, 0, 0, 0, NOPROPS, "a/b hello", L, NULL},
	{"-v empty payload", NULL, 1, 0, 0, "a/b", NULL, 0, 0, 0, 0, NOPROPS, "a/b (null)\n", L, NULL},
	{"-v -N empty payload", NULL, 1, 1, 0, "a/b", NULL, 0, 0, 0, 0, NOPROPS, "", L, NULL},
	{"-v binary payload", NULL, 1, 0, 0, "t", "\0\x01", 2, 0, 0, 0, NOPROPS, "t \0\x01\n", 5, NULL},
	{"-v ignores properties", NULL, 1, 0, 0, "t", "p", L, 0, 0, 0, {P_CT("x")}, "t p\n", L, NULL},
	{"--pretty alone changes nothing", NULL, 0, 0, 1, "t", "{\"a\":1}", L, 0, 0, 0, NOPROPS, "{\"a\":1}\n", L, NULL},

	/* -- -F basics -- */
	{"-F literal", "plain text", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "plain text\n", L, NULL},
	{"-F literal -N", "plain", 0, 1, 0, "t", "p", L, 0, 0, 0, NOPROPS, "plain", L, NULL},
	{"-F empty", "", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "\n", L, NULL},
	{"-F takes precedence over -v", "%p", 1, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "p\n", L, NULL},
	{"-F empty payload still printed", "[%p]", 0, 0, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%%", "100%%", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "100%\n", L, NULL},
	{"%% with width", "%5%|", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "%|\n", L, NULL},
	{"%t", "%t", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "a/b\n", L, NULL},
	{"%t width", "[%6t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[   a/b]\n", L, NULL},
	{"%t left", "[%-6t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[a/b   ]\n", L, NULL},
	{"%t zero flag ignored", "[%06t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[   a/b]\n", L, NULL},
	{"%t precision", "[%.1t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[a]\n", L, NULL},
	{"%t precision 0", "[%.t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%t width precision", "[%5.2t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[   a/]\n", L, NULL},
	{"%t left width precision", "[%-5.2t]", 0, 0, 0, "a/b", "p", L, 0, 0, 0, NOPROPS, "[a/   ]\n", L, NULL},
	{"%t width smaller than topic", "[%2t]", 0, 0, 0, "a/b/c", "p", L, 0, 0, 0, NOPROPS, "[a/b/c]\n", L, NULL},
	{"%p", "%p", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "hello world\n", L, NULL},
	{"%p binary", "%p", 0, 0, 0, "t", "a\0b", 3, 0, 0, 0, NOPROPS, "a\0b\n", 4, NULL},
	{"%p width truncates (quirk)", "%5p", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "hello\n", L, NULL},
	{"%p width pads", "[%15p]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[    hello world]\n", L, NULL},
	{"%p left", "[%-15p]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[hello world    ]\n", L, NULL},
	{"%p zero pad", "[%015p]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[0000hello world]\n", L, NULL},
	{"%p left zero: spaces on the right", "[%-015p]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS,
		"[hello world    ]\n", L, NULL},
	{"%p precision ignored", "[%.3p]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[hello world]\n", L, NULL},
	{"%p left width truncates", "[%-3p]", 0, 0, 0, "t", "hello", L, 0, 0, 0, NOPROPS, "[hel]\n", L, NULL},
	{"%p width on empty payload", "[%3p]", 0, 0, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "[   ]\n", L, NULL},
	{"%x", "%x", 0, 0, 0, "t", "hi\xab", L, 0, 0, 0, NOPROPS, "6869ab\n", L, NULL},
	{"%X", "%X", 0, 0, 0, "t", "hi\xab\x00", 4, 0, 0, 0, NOPROPS, "6869AB00\n", L, NULL},
	{"%x empty", "[%x]", 0, 0, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	/* write_payload halves the byte count for hex once a width is given */
	{"%x width halves bytes (quirk)", "[%10x]", 0, 0, 0, "t", "hi", L, 0, 0, 0, NOPROPS, "[        68]\n", L, NULL},
	{"%x width 4 of 5 bytes", "[%4x]", 0, 0, 0, "t", "hello", L, 0, 0, 0, NOPROPS, "[6865]\n", L, NULL},
	{"%x width 5 of 5 bytes", "[%5x]", 0, 0, 0, "t", "hello", L, 0, 0, 0, NOPROPS, "[ 6865]\n", L, NULL},
	{"%X left width", "[%-6X]", 0, 0, 0, "t", "\xab\xcd", 2, 0, 0, 0, NOPROPS, "[AB    ]\n", L, NULL},
	{"%x zero pad", "[%06x]", 0, 0, 0, "t", "hi", L, 0, 0, 0, NOPROPS, "[000068]\n", L, NULL},
	{"%x width 1: nothing", "[%1x]", 0, 0, 0, "t", "hi", L, 0, 0, 0, NOPROPS, "[ ]\n", L, NULL},
	{"%l", "%l", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "11\n", L, NULL},
	{"%l width", "[%5l]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[   11]\n", L, NULL},
	{"%l left", "[%-5l]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[11   ]\n", L, NULL},
	{"%l zero", "[%05l]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[00011]\n", L, NULL},
	{"%l left zero: left wins", "[%-05l]", 0, 0, 0, "t", "hello world", L, 0, 0, 0, NOPROPS, "[11   ]\n", L, NULL},
	{"%l empty", "%l", 0, 0, 0, "t", NULL, 0, 0, 0, 0, NOPROPS, "0\n", L, NULL},
	{"%m", "%m", 0, 0, 0, "t", "p", L, 1, 0, 42, NOPROPS, "42\n", L, NULL},
	{"%m zero", "%03m", 0, 0, 0, "t", "p", L, 1, 0, 7, NOPROPS, "007\n", L, NULL},
	{"%m qos 0", "%m", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "0\n", L, NULL},
	{"%q", "%q%q", 0, 0, 0, "t", "p", L, 2, 0, 1, NOPROPS, "22\n", L, NULL},
	{"%q width ignored", "[%5q]", 0, 0, 0, "t", "p", L, 1, 0, 1, NOPROPS, "[1]\n", L, NULL},
	{"%r retained", "%r", 0, 0, 0, "t", "p", L, 0, 1, 0, NOPROPS, "1\n", L, NULL},
	{"%r not retained", "[%3r]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[0]\n", L, NULL},
	{"several", "%t %q %r %l %p", 0, 0, 0, "x/y", "data", L, 1, 1, 3, NOPROPS, "x/y 1 1 4 data\n", L, NULL},
	{"unknown specifier prints nothing", "[%k]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"trailing %", "abc%", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},
	{"trailing %-", "abc%-", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},
	{"trailing %5", "abc%5", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},
	{"trailing %5.", "abc%5.", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},

	/* -- escapes -- */
	{"\\\\", "a\\\\b", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "a\\b\n", L, NULL},
	{"\\0", "a\\0b", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "a\0b\n", 4, NULL},
	{"\\a", "\\a", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "\a\n", L, NULL},
	{"\\e", "\\e[1m", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "\033[1m\n", L, NULL},
	{"\\n", "%t\\n%p", 0, 1, 0, "t", "p", L, 0, 0, 0, NOPROPS, "t\np", L, NULL},
	{"\\r", "\\r", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "\r\n", L, NULL},
	{"\\t", "%t\\t%p", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "t\tp\n", L, NULL},
	{"\\v", "\\v", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "\v\n", L, NULL},
	{"unknown escape prints nothing", "[\\q]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"trailing backslash", "abc\\", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},

	/* -- time: @ fields, %I, %U, at NOW in UTC -- */
	{"@@", "a@@b", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "a@b\n", L, NULL},
	{"@ date", "@Y-@m-@dT@H:@M:@S", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "2020-05-06T21:48:00\n", L, NULL},
	{"@N", "@s.@N", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "1588801680.123456789\n", L, NULL},
	{"@z @Z", "@z @Z", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "+0000 UTC\n", L, NULL},
	{"@F @T @y @j @a @b", "@F @T @y @j @a @b", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS,
		"2020-05-06 21:48:00 20 127 Wed May\n", L, NULL},
	{"@% is a percent", "@%", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "%\n", L, NULL},
	{"trailing @", "abc@", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "abc\n", L, NULL},
	{"%I", "%I", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "2020-05-06T21:48:00+0000\n", L, NULL},
	{"%I width", "[%26I]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[  2020-05-06T21:48:00+0000]\n", L, NULL},
	{"%I precision", "[%.10I]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[2020-05-06]\n", L, NULL},
	{"%I left", "[%-26I]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[2020-05-06T21:48:00+0000  ]\n", L, NULL},
	{"%U", "%U", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "1588801680.123456789\n", L, NULL},
	{"%U width ignored", "[%30U]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[1588801680.123456789]\n", L, NULL},

	/* -- %j / %J -- */
	{"%j", "%j", 0, 0, 0, "t", "hello", L, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":5,\"payload\":\"hello\"}\n", L, NULL},
	{"%j qos 1 has mid, retain", "%j", 0, 0, 0, "a/b", "x", L, 1, 1, 42, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"a/b\",\"qos\":1,\"retain\":1,\"payloadlen\":1,\"mid\":42,\"payload\":\"x\"}\n", L, NULL},
	{"%j escapes", "%j", 0, 1, 0, "t\"", "a\"b\\c\n\x01", L, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\\\"\",\"qos\":0,\"retain\":0,\"payloadlen\":7,"
		"\"payload\":\"a\\\"b\\\\c\\n\\u0001\"}", L, NULL},
	{"%j JSON payload is a string", "%j", 0, 1, 0, "t", "{\"a\":1}", L, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":7,\"payload\":\"{\\\"a\\\":1}\"}", L, NULL},
	{"%j empty payload is null", "%j", 0, 1, 0, "t", NULL, 0, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":0,\"payload\":null}", L, NULL},
	{"%j payload stops at NUL", "%j", 0, 1, 0, "t", "ab\0cd", 5, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":5,\"payload\":\"ab\"}", L, NULL},
	{"%J object", "%J", 0, 0, 0, "t", "{\"a\": [1, 2, {\"b\": null}]}", L, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":26,\"payload\":{\"a\":[1,2,{\"b\":null}]}}\n", L, NULL},
	{"%J number", "%J", 0, 1, 0, "t", "123", L, 2, 0, 9, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":2,\"retain\":0,\"payloadlen\":3,\"mid\":9,\"payload\":123}", L, NULL},
	{"%J string with whitespace around", "%J", 0, 1, 0, "t", " \"s\" \n", L, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":6,\"payload\":\"s\"}", L, NULL},
	{"%J empty payload is null", "%J", 0, 1, 0, "t", NULL, 0, 0, 0, 0, NOPROPS,
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":0,\"payload\":null}", L, NULL},
	{"%J invalid", "[%J]", 0, 0, 0, "a/b", "{bad", L, 0, 0, 0, NOPROPS, "[]\n", L,
		"Error: Message payload is not valid JSON on topic a/b.\n"},
	{"%J trailing garbage", "%J", 0, 0, 0, "t", "{} x", L, 0, 0, 0, NOPROPS, "\n", L,
		"Error: Message payload is not valid JSON on topic t.\n"},
	{"%J embedded NUL", "%J", 0, 0, 0, "t", "{}\0", 3, 0, 0, 0, NOPROPS, "\n", L,
		"Error: Message payload is not valid JSON on topic t.\n"},
	{"%J twice invalid: one report per %J", "%J%t%J", 0, 0, 0, "t", "nope", L, 0, 0, 0, NOPROPS, "t\n", L,
		"Error: Message payload is not valid JSON on topic t.\n"
		"Error: Message payload is not valid JSON on topic t.\n"},
	{"%j --pretty", "%j", 0, 0, 1, "t", "hi", L, 1, 0, 5, NOPROPS,
		"{\n\t\"tst\":\t\"" TST "\",\n\t\"topic\":\t\"t\",\n\t\"qos\":\t1,\n\t\"retain\":\t0,\n"
		"\t\"payloadlen\":\t2,\n\t\"mid\":\t5,\n\t\"payload\":\t\"hi\"\n}\n", L, NULL},
	{"%J --pretty", "%J", 0, 1, 1, "t", "{\"a\":[1]}", L, 0, 0, 0, NOPROPS,
		"{\n\t\"tst\":\t\"" TST "\",\n\t\"topic\":\t\"t\",\n\t\"qos\":\t0,\n\t\"retain\":\t0,\n"
		"\t\"payloadlen\":\t9,\n\t\"payload\":\t{\n\t\t\"a\":\t[1]\n\t}\n}", L, NULL},
	{"%j width ignored", "[%20j]", 0, 0, 0, "t", "", 0, 0, 0, 0, NOPROPS,
		"[{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":0,\"payload\":\"\"}]\n", L, NULL},
	{"%j with properties", "%j", 0, 1, 0, "t", "x", L, 0, 0, 0,
		{P_PF(1), P_ME(60), P_CT("text/plain"), P_RT("r/t"), P_CD("cid"), P_SI(7), P_UP("k1", "v1"), P_UP("k2", "v2")},
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":1,\"properties\":{"
		"\"payload-format-indicator\":1,\"message-expiry-interval\":60,\"content-type\":\"text/plain\","
		"\"response-topic\":\"r/t\",\"correlation-data\":\"cid\",\"subscription-identifier\":7,"
		"\"user-properties\":{\"k1\":\"v1\",\"k2\":\"v2\"}},\"payload\":\"x\"}", L, NULL},
	{"%J with user properties first", "%J", 0, 1, 0, "t", "1", L, 0, 0, 0,
		{P_UP("a", "1"), P_CT("c"), P_UP("b", "2")},
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":1,\"properties\":{"
		"\"user-properties\":{\"a\":\"1\",\"b\":\"2\"},\"content-type\":\"c\"},\"payload\":1}", L, NULL},
	{"%j topic alias prints 0 (quirk)", "%j", 0, 1, 0, "t", "x", L, 0, 0, 0, {P_TA(5)},
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":1,\"properties\":{"
		"\"topic-alias\":0},\"payload\":\"x\"}", L, NULL},
	{"%j message expiry max", "%j", 0, 1, 0, "t", "x", L, 0, 0, 0, {P_ME(4294967295u)},
		"{\"tst\":\"" TST "\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":1,\"properties\":{"
		"\"message-expiry-interval\":4294967295},\"payload\":\"x\"}", L, NULL},

	/* -- v5 property specifiers -- */
	{"%C", "%C", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CT("text/plain")}, "text/plain\n", L, NULL},
	{"%C width", "[%12C]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CT("text/plain")}, "[  text/plain]\n", L, NULL},
	{"%C left precision", "[%-6.4C]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CT("text/plain")}, "[text  ]\n", L, NULL},
	{"%C absent", "[%C]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%C absent width: spaces", "[%3C]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[   ]\n", L, NULL},
	{"%C absent zero width: still spaces", "[%03C]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[   ]\n", L, NULL},
	{"%D", "[%D]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CDN("c\0d", 3)}, "[c\0d]\n", 6, NULL},
	{"%D width ignored", "[%9D]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CD("abc")}, "[abc]\n", L, NULL},
	{"%D absent", "[%4D]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%E", "%E", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_ME(60)}, "60\n", L, NULL},
	{"%E zero", "[%05E]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_ME(60)}, "[00060]\n", L, NULL},
	{"%E left", "[%-4E]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_ME(60)}, "[60  ]\n", L, NULL},
	{"%E as signed int (quirk)", "%E", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_ME(4294967295u)}, "-1\n", L, NULL},
	{"%E absent width", "[%3E]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[   ]\n", L, NULL},
	{"%E absent zero width: zeros (quirk)", "[%03E]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[000]\n", L, NULL},
	{"%F", "%F", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_PF(1)}, "1\n", L, NULL},
	{"%F zero width", "[%03F]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_PF(0)}, "[000]\n", L, NULL},
	{"%F absent", "[%F]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%F absent zero width", "[%02F]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[00]\n", L, NULL},
	{"%A", "%A", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_TA(5)}, "5\n", L, NULL},
	{"%A width", "[%3A]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_TA(5)}, "[  5]\n", L, NULL},
	{"%A absent width", "[%-2A]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[  ]\n", L, NULL},
	{"%R", "%R", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_RT("reply/here")}, "reply/here\n", L, NULL},
	{"%R precision", "[%.5R]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_RT("reply/here")}, "[reply]\n", L, NULL},
	{"%R width", "[%11R]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_RT("reply/here")}, "[ reply/here]\n", L, NULL},
	{"%R absent: no padding", "[%5R]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[]\n", L, NULL},
	{"%S", "%S", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_SI(7)}, "7\n", L, NULL},
	{"%S first of several", "%S", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_SI(7), P_SI(9)}, "7\n", L, NULL},
	{"%S zero", "[%04S]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_SI(268435455)}, "[268435455]\n", L, NULL},
	{"%S absent", "[%2S]", 0, 0, 0, "t", "p", L, 0, 0, 0, NOPROPS, "[  ]\n", L, NULL},
	{"%P", "%P", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_UP("k1", "v1")}, "k1:v1\n", L, NULL},
	{"%P several, others between", "[%P]", 0, 0, 0, "t", "p", L, 0, 0, 0,
		{P_UP("k1", "v1"), P_CT("c"), P_UP("k2", "v2"), P_SI(3), P_UP("k1", "v3")}, "[k1:v1 k2:v2 k1:v3]\n", L, NULL},
	{"%P width ignored", "[%9P]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_UP("a", "b")}, "[a:b]\n", L, NULL},
	{"%P absent", "[%P]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_CT("c")}, "[]\n", L, NULL},
	{"%P empty strings", "[%P]", 0, 0, 0, "t", "p", L, 0, 0, 0, {P_UP("", "")}, "[:]\n", L, NULL},
	{"all properties", "%C|%D|%E|%F|%R|%S|%P|%A", 0, 0, 0, "t", "p", L, 0, 0, 0,
		{P_CT("ct"), P_CD("cd"), P_ME(1), P_PF(1), P_RT("rt"), P_SI(2), P_UP("u", "v"), P_TA(3)},
		"ct|cd|1|1|rt|2|u:v|3\n", L, NULL},
};

/* mosquitto 2.1's output (--compat 2.1), where it differs from 2.0 or is new. */
static const struct mcase mcases21[] = {
	{"2.1 %x width counts bytes", "[%6x]", 0, 0, 0, "t", "\xde\xad\xbe\xef", 4, 0, 0, 0, NOPROPS, "[deadbeef]\n", L, NULL},
	{"2.1 %x width truncates in bytes", "[%2x]", 0, 0, 0, "t", "\xde\xad\xbe\xef", 4, 0, 0, 0, NOPROPS, "[dead]\n", L, NULL},
	{"2.1 %x width pads", "[%12x]", 0, 0, 0, "t", "\xde\xad", 2, 0, 0, 0, NOPROPS, "[        dead]\n", L, NULL},
	{"2.1 %.2x default separator", "%.2x", 0, 0, 0, "t", "\xde\xad\xbe\xef", 4, 0, 0, 0, NOPROPS, "de ad be ef\n", L, NULL},
	{"2.1 %.2:X", "%.2:X", 0, 0, 0, "t", "\xde\xad\xbe\xef", 4, 0, 0, 0, NOPROPS, "DE:AD:BE:EF\n", L, NULL},
	{"2.1 %.4-x", "%.4-x", 0, 0, 0, "t", "\x01\x02\x03\x04\x05", 5, 0, 0, 0, NOPROPS, "0102-0304-05\n", L, NULL},
	{"2.1 padding gets separators", "%24.2:x", 0, 0, 0, "t", "\xde\xad\xbe\xef", 4, 0, 0, 0, NOPROPS,
		"  :  :  :  :  :  :  :  :de:ad:be:ef\n", L, NULL},
	{"2.1 separator before %t", "%.2:t", 0, 0, 0, "fxyz", "p", L, 0, 0, 0, NOPROPS, "fx\n", L, NULL},
	{"2.1 %f", "%f", 0, 0, 0, "t", "\x00\x00\xc0\x3f", 4, 0, 0, 0, NOPROPS, "1.500000\n", L, NULL},
	{"2.1 %.2f width", "[%8.2f]", 0, 0, 0, "t", "\x00\x00\xc0\x3f", 4, 0, 0, 0, NOPROPS, "[    1.50]\n", L, NULL},
	{"2.1 %-8.1f", "[%-8.1f]", 0, 0, 0, "t", "\x00\x00\xc0\xbf", 4, 0, 0, 0, NOPROPS, "[-1.5    ]\n", L, NULL},
	{"2.1 %08.3d", "%08.3d", 0, 0, 0, "t", "\x00\x00\x00\x00\x00\x00\x04\x40", 8, 0, 0, 0, NOPROPS, "0002.500\n", L, NULL},
	{"2.1 %f wrong size", "a%fb", 0, 0, 0, "t", "abc", L, 0, 0, 0, NOPROPS, "ab\n", L,
		"requested float printing, but non-float data received"},
	{"2.1 %d wrong size", "%d", 0, 0, 0, "t", "abcd", L, 0, 0, 0, NOPROPS, "\n", L,
		"requested double printing, but non-double data received"},
	{"2.1 %j", "%j", 0, 1, 0, "t", "x", L, 1, 1, 3, NOPROPS,
		"{\"tst\":\"2020-05-06T21:48:00.123456+0000\",\"topic\":\"t\",\"qos\":1,\"retain\":true,\"payloadlen\":1,"
		"\"mid\":3,\"payload\":\"x\"}", L, NULL},
	{"2.1 %j properties", "%j", 0, 1, 0, "t", "x", L, 0, 0, 0, {P_TA(7), P_UP("a", "1"), P_UP("b", "2")},
		"{\"tst\":\"2020-05-06T21:48:00.123456+0000\",\"topic\":\"t\",\"qos\":0,\"retain\":false,\"payloadlen\":1,"
		"\"properties\":{\"topic-alias\":7,\"user-properties\":[{\"a\":\"1\"},{\"b\":\"2\"}]},\"payload\":\"x\"}", L, NULL},
};

static mosquitto_property *build_props(const struct pspec *ps)
{
	mosquitto_property *props = NULL;
	for (; ps->id; ps++) {
		int rc;
		switch (ps->id) {
		case MQTT_PROP_CONTENT_TYPE:
		case MQTT_PROP_RESPONSE_TOPIC:
			rc = mosquitto_property_add_string(&props, ps->id, ps->s);
			break;
		case MQTT_PROP_CORRELATION_DATA:
			rc = mosquitto_property_add_binary(&props, ps->id, ps->s,
					ps->blen ? ps->blen : (uint16_t)strlen(ps->s));
			break;
		case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL:
			rc = mosquitto_property_add_int32(&props, ps->id, ps->n);
			break;
		case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
			rc = mosquitto_property_add_byte(&props, ps->id, (uint8_t)ps->n);
			break;
		case MQTT_PROP_TOPIC_ALIAS:
			rc = mosquitto_property_add_int16(&props, ps->id, (uint16_t)ps->n);
			break;
		case MQTT_PROP_SUBSCRIPTION_IDENTIFIER:
			rc = mosquitto_property_add_varint(&props, ps->id, ps->n);
			break;
		case MQTT_PROP_USER_PROPERTY:
			rc = mosquitto_property_add_string_pair(&props, ps->id, ps->s, ps->s2);
			break;
		default:
			rc = -1;
		}
		assert_int_equal(rc, 0);
	}
	return props;
}

static void run_mcase(void **state)
{
	const struct mcase *c = *state;
	bool v21 = c >= mcases21 && c < mcases21 + sizeof(mcases21) / sizeof(mcases21[0]);
	struct fmt_opts opts = {c->format, c->verbose, !c->noeol, c->pretty, v21};
	int plen = c->payloadlen >= 0 ? c->payloadlen : (int)strlen(c->payload);
	/* libmosquitto's payload: heap, NUL after payloadlen; NULL when empty */
	char *payload = NULL;
	if (c->payload) {
		payload = malloc((size_t)plen + 1);
		assert_non_null(payload);
		memcpy(payload, c->payload, (size_t)plen);
		payload[plen] = '\0';
	}
	mosquitto_property *props = build_props(c->props);
	struct fmt_msg msg = {c->topic, payload, plen, c->qos, c->retain, c->mid, props};
	struct timespec now = {NOW_SEC, NOW_NSEC};
	struct outbuf out;
	char *cause = NULL;
	outbuf_init(&out);
	format_message(&out, &opts, &msg, &now, &cause);
	assert_false(out.oom);
	size_t wantlen = c->wantlen >= 0 ? (size_t)c->wantlen : strlen(c->want);
	assert_bytes_equal(c->want, wantlen, out.data, out.len);
	if (c->cause) {
		if (!cause)
			fail_msg("expected cause \"%s\", got none", c->cause);
		assert_string_equal(cause, c->cause);
	} else if (cause) {
		fail_msg("unexpected cause \"%s\"", cause);
	}
	free(cause);
	outbuf_free(&out);
	mosquitto_property_free_all(&props);
	free(payload);
}

/* Output is appended to what the buffer already holds, message after
 * message, and a NULL cause pointer is allowed. */
static void test_append_and_null_cause(void **state)
{
	(void)state;
	struct fmt_opts opts = {"%t:%J", false, true, false, false};
	char p1[] = "[1]", p2[] = "oops";
	struct fmt_msg m1 = {"a", p1, 3, 0, false, 0, NULL};
	struct fmt_msg m2 = {"b", p2, 4, 0, false, 0, NULL};
	struct timespec now = {NOW_SEC, 0};
	struct outbuf out;
	outbuf_init(&out);
	outbuf_puts(&out, ">");
	format_message(&out, &opts, &m1, &now, NULL);
	format_message(&out, &opts, &m2, &now, NULL);
	const char *want = ">a:{\"tst\":\"2020-05-06T21:48:00.000000Z+0000\",\"topic\":\"a\",\"qos\":0,"
		"\"retain\":0,\"payloadlen\":3,\"payload\":[1]}\nb:\n";
	assert_bytes_equal(want, strlen(want), out.data, out.len);
	/* a new cause is appended to an existing one */
	char *cause = strdup("first\n");
	format_message(&out, &opts, &m2, &now, &cause);
	assert_string_equal(cause, "first\nError: Message payload is not valid JSON on topic b.\n");
	free(cause);
	outbuf_free(&out);
}

/* A big payload and a big width go through the growable buffer. */
static void test_large(void **state)
{
	(void)state;
	size_t n = 100000;
	char *p = malloc(n + 1);
	assert_non_null(p);
	memset(p, 'z', n);
	p[n] = '\0';
	struct fmt_msg m = {"t", p, (int)n, 0, false, 0, NULL};
	struct timespec now = {NOW_SEC, NOW_NSEC};
	struct outbuf out;
	outbuf_init(&out);
	struct fmt_opts o1 = {"%x", false, false, false, false};
	format_message(&out, &o1, &m, &now, NULL);
	assert_int_equal(out.len, 2 * n);
	outbuf_reset(&out);
	struct fmt_opts o2 = {"%200000p", false, false, false, false};
	format_message(&out, &o2, &m, &now, NULL);
	assert_int_equal(out.len, 200000);
	assert_int_equal(out.data[0], ' ');
	assert_int_equal(out.data[199999], 'z');
	outbuf_free(&out);
	free(p);
}

/* The time fields follow the local time zone. */
static void test_other_timezone(void **state)
{
	(void)state;
	setenv("TZ", "UTC-2", 1); /* POSIX: two hours east of UTC */
	tzset();
	struct fmt_opts opts = {"@H:@M %I", false, false, false, false};
	struct fmt_msg m = {"t", NULL, 0, 0, false, 0, NULL};
	struct timespec now = {NOW_SEC, NOW_NSEC};
	struct outbuf out;
	outbuf_init(&out);
	format_message(&out, &opts, &m, &now, NULL);
	const char *want = "23:48 2020-05-06T23:48:00+0200";
	assert_bytes_equal(want, strlen(want), out.data, out.len);
	outbuf_free(&out);
	setenv("TZ", "UTC", 1);
	tzset();
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	int failed = 0;
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++)
		test_list_add(&l, mcases[i].name, run_mcase, (void *)&mcases[i]);
	for (size_t i = 0; i < sizeof(mcases21) / sizeof(mcases21[0]); i++)
		test_list_add(&l, mcases21[i].name, run_mcase, (void *)&mcases21[i]);
	failed += test_list_run(&l, "format_message table");

	const struct CMUnitTest misc[] = {
		cmocka_unit_test(test_append_and_null_cause),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_other_timezone),
	};
	failed += cmocka_run_group_tests_name("format misc", misc, NULL, NULL);
	return failed ? 1 : 0;
}
