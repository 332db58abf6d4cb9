/* options: the option table and the pure parser that turns argv-style words
 * (command line, options file, profile) into struct config. It never prints;
 * errors come back as text worded exactly as mosquitto_pub/sub word them. */
#include "options.h"
#include "l10n.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <mqtt_protocol.h>

#define OFF(field) offsetof(struct config, field)
#define P TOOL_PUB
#define S TOOL_SUB
#define R TOOL_RR
#define A TOOL_ALL
#define PR (TOOL_PUB | TOOL_RR)
#define SR (TOOL_SUB | TOOL_RR)

static int h_message_mode(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_id(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_topic(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_filter(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_property(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_url(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_format(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_proto(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_expiry(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_unix(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_will_topic(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_proxy(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_flag(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_diag_format(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_password(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_optfile(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_retain_handling(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_compat(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_response_topic(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_ws_path(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);
static int h_host(struct config *, const struct option_def *, int, char *const[], int *, struct opt_error *);

/* Flags whose effect is more than "set a bool" are ARG_NONE rows with a
 * handler; h_flag switches on the long/short name. */

const struct option_def option_table[] = {
	{'A', NULL, ARG_STR, A, SCOPE_CONN, 0, 0, OFF(bind_address), "address",
		"-A argument given but no address specified.", NULL, NULL,
		"bind the outgoing socket to this host/ip address. Use to control which interface\n"
		"the client communicates over.", NULL},
	{'c', "disable-clean-session", ARG_NONE, A, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"disable clean session/enable persistent client mode\n"
		"When this argument is used, the broker will be instructed not to clean existing sessions\n"
		"for the same client id when the client connects, and sessions will never expire when the\n"
		"client disconnects. MQTT v5 clients can change their session expiry interval with the -x\n"
		"argument.", NULL},
	{'C', NULL, ARG_INT, S, SCOPE_RUN, 1, INT_MAX, OFF(msg_count), "msg_count",
		"-C argument given but no count specified.", "Error: Invalid message count \"%s\".\n\n", NULL,
		"disconnect and exit after receiving the 'msg_count' messages.", NULL},
	{'d', "debug", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(debug), NULL, NULL, NULL, NULL,
		"enable debug messages.", NULL},
	{'D', "property", ARG_SPECIAL, A, SCOPE_RUN, 0, 0, 0, "command identifier value",
		NULL, NULL, h_property,
		"Define MQTT v5 properties. See the documentation for more details.", NULL},
	{'e', NULL, ARG_STR, R, SCOPE_RUN, 0, 0, 0, "response-topic",
		"-e argument given but no response topic specified.", NULL, h_response_topic,
		"Response topic. The client will subscribe to this topic to wait for a response.", NULL},
	{'E', NULL, ARG_NONE, S, SCOPE_RUN, 0, 0, OFF(exit_after_sub), NULL, NULL, NULL, NULL,
		"Exit once all subscriptions have been acknowledged by the broker.", NULL},
	{'f', "file", ARG_STR, PR, SCOPE_RUN, 0, 0, 0, "file",
		"-f argument given but no file specified.", NULL, h_message_mode,
		"send the contents of a file as the message.", NULL},
	{'F', NULL, ARG_STR, SR, SCOPE_RUN, 0, 0, 0, "format",
		"-F argument given but no format specified.", NULL, h_format,
		"output format.", NULL},
	{'h', "host", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(host), "host",
		"-h argument given but no host specified.", NULL, h_host,
		"mqtt host to connect to. Defaults to localhost.", NULL},
	{'i', "id", ARG_STR, A, SCOPE_RUN, 0, 0, 0, "id",
		"-i argument given but no id specified.", NULL, h_id,
		"id to use for this client. Defaults to a random id generated by libmosquitto.", NULL},
	{'I', "id-prefix", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "id_prefix",
		"-I argument given but no id prefix specified.", NULL, h_id,
		"define the client id as id_prefix appended with the process id. Useful for when the\n"
		"broker is using the clientid_prefixes option.", NULL},
	{'k', "keepalive", ARG_INT, A, SCOPE_CONN, 5, UINT16_MAX, OFF(keepalive), "keepalive",
		"-k argument given but no keepalive specified.",
		"Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n", NULL,
		"keep alive in seconds for this client. Defaults to 60.", NULL},
	{'L', "url", ARG_STR, A, SCOPE_RUN, 0, 0, 0, "URL",
		"-L argument given but no URL specified.", NULL, h_url,
		"specify user, password, hostname, port and topic as a URL in the form:\n"
		"mqtt(s)://[username[:password]@]host[:port]/topic\n"
		"ws(s)://[username[:password]@]host[:port]/topic", NULL},
	{'l', "stdin-line", ARG_NONE, P, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_message_mode,
		"read messages from stdin, sending a separate message for each line.", NULL},
	{'m', "message", ARG_STR, PR, SCOPE_RUN, 0, 0, 0, "message",
		"-m argument given but no message specified.", NULL, h_message_mode,
		"message payload to send.", NULL},
	{'M', NULL, ARG_INT, A, SCOPE_CONN, 1, INT_MAX, OFF(max_inflight), "max_inflight",
		"-M argument given but max_inflight not specified.",
		"Error: Maximum inflight messages must be greater than 0.\n\n", NULL,
		"the maximum inflight messages for QoS 1/2.", NULL},
	{'n', "null-message", ARG_NONE, PR, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_message_mode,
		"send a null (zero length) message.", NULL},
	{'N', NULL, ARG_NONE, SR, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"do not add an end of line character when printing the payload.", NULL},
	{'o', NULL, ARG_STR, A, SCOPE_RUN, 0, 0, 0, "file",
		"-o argument given but no options file specified.", NULL, h_optfile,
		"read options from this file instead of the default options file\n"
		"($XDG_CONFIG_HOME/mosquitto_pub or _sub). Given once at most.", NULL},
	{'p', "port", ARG_INT, A, SCOPE_CONN, 0, 65535, OFF(port), "port",
		"-p argument given but no port specified.", "Error: Invalid port given: %s\n", NULL,
		"network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.", NULL},
	{'P', "pw", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(password), "password",
		"-P argument given but no password specified.", NULL, h_password,
		"provide a password", NULL},
	{'q', "qos", ARG_INT, A, SCOPE_RUN, 0, 2, OFF(qos), "qos",
		"-q argument given but no QoS specified.", "Error: Invalid QoS given: %s\n", NULL,
		"quality of service level to use for the subscription. Defaults to 0.",
		"quality of service level to use for all messages. Defaults to 0."},
	{'r', "retain", ARG_NONE, P, SCOPE_RUN, 0, 0, OFF(retain), NULL, NULL, NULL, NULL,
		"message should be retained.", NULL},
	{'R', NULL, ARG_NONE, SR, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"do not print stale messages (those with retain set).", NULL},
	{'s', "stdin-file", ARG_NONE, PR, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_message_mode,
		"read message from stdin, sending the entire input as a message.", NULL},
	{'t', "topic", ARG_STR, A, SCOPE_RUN, 0, 0, 0, "topic",
		"-t argument given but no topic specified.", NULL, h_topic,
		"mqtt topic to subscribe to. May be repeated multiple times.", "mqtt topic to publish to."},
	{'T', "filter-out", ARG_STR, S, SCOPE_RUN, 0, 0, 0, "filter_out",
		"-T argument given but no topic filter specified.", NULL, h_filter,
		"topic string to filter out of results. May be repeated.", NULL},
	{'u', "username", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(username), "username",
		"-u argument given but no username specified.", NULL, NULL,
		"provide a username", NULL},
	{'U', "unsubscribe", ARG_STR, S, SCOPE_RUN, 0, 0, 0, "topic",
		"-U argument given but no unsubscribe topic specified.", NULL, h_filter,
		"unsubscribe from a topic. May be repeated.", NULL},
	{'v', "verbose", ARG_NONE, A, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"print published messages verbosely (the topic, then the payload). When stderr is\n"
		"a terminal, also print the connection trace there, as --trace does.",
		N_("print a step-by-step trace of the connection on stderr (smqtt extension:\n"
		"mosquitto_pub has no -v).")},
	{'V', "protocol-version", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "protocol-version",
		"--protocol-version argument given but no version specified.", NULL, h_proto,
		"specify the version of the MQTT protocol to use when connecting.\n"
		"Can be mqttv5, mqttv311 or mqttv31. Defaults to mqttv311.", NULL},
	{'w', "watch", ARG_NONE, S, SCOPE_RUN, 0, 0, OFF(watch), NULL, NULL, NULL, NULL,
		"print each topic on a fixed line of the terminal, updated in place.", NULL},
	{'W', NULL, ARG_INT, SR, SCOPE_RUN, 1, INT_MAX, OFF(timeout), "timeout_secs",
		"-W argument given but no timeout specified.", "Error: Invalid timeout \"%s\".\n\n", NULL,
		"Specifies a timeout in seconds how long to process incoming MQTT messages.", NULL},
	{'x', NULL, ARG_STR, A, SCOPE_CONN, 0, 0, 0, "session-expiry",
		"-x argument given but no session expiry interval specified.", NULL, h_expiry,
		"Set the session-expiry-interval property on the CONNECT packet. Applies to MQTT v5\n"
		"clients only. Set to 0-4294967294 to specify the session will expire in that many\n"
		"seconds after the client disconnects, or use -1, 4294967295, or \xe2\x88\x9e for a session\n"
		"that does not expire. Defaults to -1 if -c is also given, or 0 if -c not given.", NULL},
	{0, "help", ARG_NONE, A, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"display this message.", NULL},
	{0, "version", ARG_NONE, A, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"display the version.", NULL},
	{0, "latency", ARG_NONE, R, SCOPE_RUN, 0, 0, OFF(measure_latency), NULL, NULL, NULL, NULL,
		"print the time from the request to the response on stdout after the response\n"
		"(mosquitto 2.1).", NULL},
	{0, "message-rate", ARG_NONE, S, SCOPE_RUN, 0, 0, OFF(message_rate), NULL, NULL, NULL, NULL,
		"print the number of messages received each second instead of the messages.", NULL},
	{0, "nodelay", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(tcp_nodelay), NULL, NULL, NULL, NULL,
		"disable Nagle's algorithm, to reduce socket sending latency at the possible\n"
		"expense of more packets being sent.", NULL},
	{0, "pretty", ARG_NONE, SR, SCOPE_RUN, 0, 0, OFF(pretty), NULL, NULL, NULL, NULL,
		"print formatted output rather than minimised output when using the\n"
		"JSON output format option.", NULL},
	{0, "quiet", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(quiet), NULL, NULL, NULL, NULL,
		"don't print error messages.", NULL},
	{0, "random-filter", ARG_REAL, S, SCOPE_RUN, 0, 0, 0, "chance",
		"--random-filter argument given but no chance specified.",
		"Error: --random-filter chance must be between 0.1-100.0\n\n", h_flag,
		"only print a percentage of received messages. Set to 100 to have all\n"
		"messages printed, 50.0 to have half of the messages received on average\n"
		"printed, and so on.", NULL},
	{0, "remove-retained", ARG_NONE, S, SCOPE_RUN, 0, 0, OFF(remove_retained), NULL, NULL, NULL, NULL,
		"send a message to the server to clear any received retained messages\n"
		"Use -T to filter out messages you do not want to be cleared.", NULL},
	{0, "repeat", ARG_INT, P, SCOPE_RUN, 1, INT_MAX, OFF(repeat_count), "count",
		"--repeat argument given but no count specified.", "Error: --repeat argument must be >0.\n\n", NULL,
		"if publish mode is -f, -m, or -s, then repeat the publish N times.", NULL},
	{0, "repeat-delay", ARG_REAL, P, SCOPE_RUN, 0, 1000000000, OFF(repeat_delay), "time",
		"--repeat-delay argument given but no time specified.",
		"Error: --repeat-delay argument must be >=0.0.\n\n", NULL,
		"if using --repeat, wait time seconds between publishes. Defaults to 0.", NULL},
	{0, "retain-as-published", ARG_NONE, SR, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, h_flag,
		"subscribe with the retain-as-published option (MQTT v5).", NULL},
	{0, "retain-handling", ARG_STR, SR, SCOPE_RUN, 0, 0, 0, "mode",
		"--retain-handling argument given but no option specified.", NULL, h_retain_handling,
		"the MQTT v5 retain handling subscription option: always (send retained\n"
		"messages), new (only for new subscriptions) or never.", NULL},
	{0, "retained-only", ARG_NONE, S, SCOPE_RUN, 0, 0, OFF(retained_only), NULL, NULL, NULL, NULL,
		"only handle messages with the retained flag set, and exit when the\n"
		"first non-retained message is received.", NULL},
	{0, "ws", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(ws), NULL, NULL, NULL, NULL,
		"connect using WebSockets.", NULL},
	{0, "ws-path", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(ws_path), "path",
		N_("--ws-path argument given but no path specified."), NULL, h_ws_path,
		N_("the HTTP path of the WebSocket upgrade; implies --ws. Defaults to /mqtt,\n"
		"as mosquitto 2.1 always uses (smqtt extension)."), NULL},
	{0, "unix", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "path",
		"--unix argument given but no socket path specified.", NULL, h_unix,
		"connect to a broker through a unix domain socket instead of a TCP socket,\n"
		"e.g. /tmp/mosquitto.sock", NULL},
	{0, "will-payload", ARG_STR, A, SCOPE_RUN, 0, 0, OFF(will_payload), "payload",
		"--will-payload argument given but no will payload specified.", NULL, NULL,
		"payload for the client Will, which is sent by the broker in case of\n"
		"unexpected disconnection. If not given and will-topic is set, a zero\n"
		"length message will be sent.", NULL},
	{0, "will-qos", ARG_INT, A, SCOPE_RUN, 0, 2, OFF(will_qos), "qos",
		"--will-qos argument given but no will QoS specified.", "Error: Invalid will QoS %s.\n\n", NULL,
		"QoS level for the client Will.", NULL},
	{0, "will-retain", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(will_retain), NULL, NULL, NULL, NULL,
		"if given, make the client Will retained.", NULL},
	{0, "will-topic", ARG_STR, A, SCOPE_RUN, 0, 0, 0, "topic",
		"--will-topic argument given but no will topic specified.", NULL, h_will_topic,
		"the topic on which to publish the client Will.", NULL},
	{0, "cafile", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(cafile), "file",
		"--cafile argument given but no file specified.", NULL, NULL,
		"path to a file containing trusted CA certificates to enable encrypted\n"
		"communication.", NULL},
	{0, "capath", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(capath), "dir",
		"--capath argument given but no directory specified.", NULL, NULL,
		"path to a directory containing trusted CA certificates to enable encrypted\n"
		"communication.", NULL},
	{0, "cert", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(certfile), "file",
		"--cert argument given but no file specified.", NULL, NULL,
		"client certificate for authentication, if required by server.", NULL},
	{0, "key", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(keyfile), "file",
		"--key argument given but no file specified.", NULL, NULL,
		"client private key for authentication, if required by server.", NULL},
	{0, "keyform", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(keyform), "keyform",
		"--keyform argument given but no keyform specified.", NULL, NULL,
		"keyfile type, can be either \"pem\" or \"engine\".", NULL},
	{0, "ciphers", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(ciphers), "ciphers",
		"--ciphers argument given but no ciphers specified.", NULL, NULL,
		"openssl compatible list of TLS ciphers to support.", NULL},
	{0, "tls-version", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(tls_version), "version",
		"--tls-version argument given but no version specified.", NULL, NULL,
		"the lowest TLS protocol version allowed: tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1\n"
		"(tlsv1 is an smqtt extension). Defaults to tlsv1.2.", NULL},
	{0, "insecure", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(insecure), NULL, NULL, NULL, NULL,
		"do not check that the server certificate hostname matches the remote\n"
		"hostname. Using this option means that you cannot be sure that the\n"
		"remote host is the server you wish to connect to and so is insecure.\n"
		"Do not use this option in a production environment.", NULL},
	{0, "tls-alpn", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(tls_alpn), "protocol",
		"--tls-alpn argument given but no protocol specified.", NULL, NULL,
		"TLS application layer protocol negotiation (ALPN) protocol to use.", NULL},
	{0, "tls-engine", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(tls_engine), "engine",
		"--tls-engine argument given but no engine_id specified.", NULL, NULL,
		"If set, enables the use of a TLS engine device.", NULL},
	{0, "tls-engine-kpass-sha1", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(tls_engine_kpass_sha1), "sha1",
		"--tls-engine-kpass-sha1 argument given but no kpass sha1 specified.", NULL, NULL,
		"SHA1 of the key password to be used with the selected SSL engine.", NULL},
	{0, "no-tls", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(no_tls), NULL, NULL, NULL, NULL,
		"ignore every TLS option, wherever it was given (command line, options file,\n"
		"an mqtts:// URL or a profile), and connect without TLS.", NULL},
	{0, "tls-keylog", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(tls_keylog), "file",
		"--tls-keylog argument given but no file specified.", NULL, NULL,
		"append the TLS key log (NSS format) to this file, for Wireshark. Needs\n"
		"--cafile, --capath or --psk.", NULL},
	{0, "tls-use-os-certs", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(tls_use_os_certs), NULL, NULL, NULL, NULL,
		"Load and trust OS provided CA certificates.", NULL},
	{0, "psk", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(psk), "hex-key",
		"--psk argument given but no key specified.", NULL, NULL,
		"pre-shared-key in hexadecimal (no leading 0x) to enable TLS-PSK mode.", NULL},
	{0, "psk-identity", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(psk_identity), "identity",
		"--psk-identity argument given but no identity specified.", NULL, NULL,
		"client identity string for TLS-PSK mode.", NULL},
	{0, "proxy", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "socks-url",
		"--proxy argument given but no proxy url specified.", NULL, h_proxy,
		"SOCKS5 proxy URL of the form:\n"
		"socks5h://[username[:password]@]hostname[:port]\n"
		"Only \"none\" and \"username\" authentication is supported.", NULL},
	{0, "password-file", ARG_STR, A, SCOPE_CONN, 0, 0, OFF(password_file), "file",
		N_("--password-file argument given but no file specified."), NULL, h_password,
		N_("read the password from this file (without its trailing newline), so that it\n"
		"is not on the command line; not together with -P (smqtt extension)."), NULL},
	{0, "profile", ARG_STR, A, SCOPE_RUN, 0, 0, OFF(profile_name), "name",
		N_("--profile argument given but no profile name specified."), NULL, NULL,
		N_("use the saved connection/TLS profile NAME (smqtt extension)."), NULL},
	{0, "no-profile", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(no_profile), NULL, NULL, NULL, NULL,
		N_("do not use any saved profile (smqtt extension)."), NULL},
	{0, "list-profiles", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(list_profiles), NULL, NULL, NULL, NULL,
		N_("print NAME<TAB>HOSTS<TAB>FILE for every saved profile and exit (smqtt extension)."), NULL},
	{0, "save-profile", ARG_STR, A, SCOPE_RUN, 0, 0, OFF(save_profile), "name",
		N_("--save-profile argument given but no profile name specified."), NULL, NULL,
		N_("after a successful connection, save this run's connection and TLS options\n"
		"as profile NAME in $XDG_CONFIG_HOME/smqtt/profiles.d/NAME.conf (smqtt extension)."), NULL},
	{0, "tls-resume", ARG_NONE, A, SCOPE_CONN, 0, 0, OFF(tls_resume), NULL, NULL, NULL, NULL,
		N_("save the TLS session of a successful connection and resume it on the next run\n"
		"(a shorter handshake). The cache, $XDG_CACHE_HOME/smqtt/sessions/, is as\n"
		"sensitive as the client key (smqtt extension)."), NULL},
	{0, "persist", ARG_INT, P, SCOPE_CONN, 1, 86400, OFF(persist), "seconds",
		N_("--persist argument given but no time specified."),
		N_("Error: Invalid --persist '%s': give whole seconds from 1 to 86400.\n\n"), NULL,
		N_("after a successful publish, keep the connection open in a keeper process for\n"
		"this many seconds without use; later runs with the same connection settings\n"
		"hand their message to it over a Unix socket instead of connecting (like ssh's\n"
		"ControlPersist; smqtt extension)."), NULL},
	{0, "persist-stop", ARG_NONE, P, SCOPE_RUN, 0, 0, OFF(persist_stop), NULL, NULL, NULL, NULL,
		N_("end the keeper (see --persist) that holds a connection with these settings,\n"
		"and exit (smqtt extension)."), NULL},
	{0, "trace", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(trace), NULL, NULL, NULL, NULL,
		N_("print a step-by-step trace of the connection on stderr: profile, checks, name\n"
		"resolution, TCP, each TLS attempt, CONNACK, what was sent, the disconnect\n"
		"(smqtt extension)."), NULL},
	{0, "check", ARG_NONE, A, SCOPE_RUN, 0, 0, OFF(check), NULL, NULL, NULL, NULL,
		N_("check the TLS files, then make one probe connection (TCP, TLS, CONNECT/CONNACK,\n"
		"DISCONNECT; nothing is published or subscribed), report every step and exit\n"
		"0 only if all passed (smqtt extension)."), NULL},
	{0, "connect-timeout", ARG_INT, A, SCOPE_CONN, 1, 86400, OFF(connect_timeout), "seconds",
		N_("--connect-timeout argument given but no time specified."),
		N_("Error: Invalid --connect-timeout '%s': give whole seconds from 1 to 86400.\n\n"), NULL,
		N_("give up when name resolution, the TCP connect, the TLS handshake and the CONNACK\n"
		"take longer than this many seconds together. Defaults to 30 (smqtt extension)."), NULL},
	{0, "compat", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "version",
		N_("--compat argument given but no version specified."), NULL, h_compat,
		N_("where mosquitto 2.0 and 2.1 disagree, behave as this version: 2.0 (the default)\n"
		"or 2.1; also set by $SMQTT_COMPAT (smqtt extension)."), NULL},
	{0, "diag-format", ARG_STR, A, SCOPE_CONN, 0, 0, 0, "format",
		N_("--diag-format argument given but no format specified."), NULL, h_diag_format,
		N_("how failures are explained on stderr: text (default), or json to add a\n"
		"single-line JSON object as the last line (smqtt extension)."), NULL},
	{0, NULL, ARG_NONE, 0, SCOPE_RUN, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};

/* ---- small helpers ---------------------------------------------------- */

static char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Set err->text from a printf format. Always returns OPT_ERROR. */
static int fail(struct opt_error *err, const struct option_def *def, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	free(err->text);
	free(err->local);
	err->text = xvasprintf(fmt, ap);
	/* smqtt's own errors are in the catalogue (N_); mosquitto's are not,
	 * and stay as mosquitto words them */
	const char *local = _(fmt);
	err->local = local != fmt ? xvasprintf(local, ap2) : NULL;
	err->def = def;
	va_end(ap2);
	va_end(ap);
	return OPT_ERROR;
}

/* "Error: <the option's missing-argument text>", in the user's language
 * when the text is smqtt's own. */
static int fail_missing(struct opt_error *err, const struct option_def *def)
{
	fail(err, def, "Error: %s\n\n", def->missing);
	const char *local = _(def->missing);
	if (local != def->missing) {
		free(err->local);
		err->local = NULL;
		if (asprintf(&err->local, "Error: %s\n\n", local) < 0)
			err->local = NULL;
	}
	return OPT_ERROR;
}

static int fail_nomem(struct opt_error *err)
{
	return fail(err, NULL, "Error: Out of memory.\n");
}

int cfg_set_str(char **slot, const char *value)
{
	char *copy = NULL;
	if (value) {
		copy = strdup(value);
		if (!copy)
			return -1;
	}
	if (*slot) {
		explicit_bzero(*slot, strlen(*slot));
		free(*slot);
	}
	*slot = copy;
	return 0;
}

static int list_add(char ***list, int *count, const char *value)
{
	char **grown = realloc(*list, (size_t)(*count + 1) * sizeof(char *));
	if (!grown)
		return -1;
	*list = grown;
	grown[*count] = strdup(value);
	if (!grown[*count])
		return -1;
	(*count)++;
	return 0;
}

static void list_free(char ***list, int *count)
{
	for (int i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

static void free_secret(char **s)
{
	cfg_set_str(s, NULL);
}

void cfg_init(struct config *cfg, enum tool tool)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tool = tool;
	cfg->compat = COMPAT_20;
	cfg->port = PORT_UNDEFINED;
	cfg->max_inflight = 20;
	cfg->keepalive = 60;
	cfg->clean_session = true;
	cfg->eol = true;
	cfg->repeat_count = 1;
	cfg->random_filter = 10000;
	cfg->random_filter_pct = 100.0;
	/* mosquitto_rr speaks MQTT v5 unless told otherwise */
	cfg->protocol_version = tool == TOOL_RR ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
	cfg->session_expiry_interval = -1;
	cfg->connect_timeout = 30;
}

void cfg_free(struct config *cfg)
{
	char **strs[] = {
		&cfg->host, &cfg->bind_address, &cfg->id, &cfg->id_prefix, &cfg->username,
		&cfg->password, &cfg->password_file, &cfg->will_topic, &cfg->will_payload, &cfg->cafile, &cfg->capath,
		&cfg->certfile, &cfg->keyfile, &cfg->keyform, &cfg->ciphers, &cfg->tls_alpn,
		&cfg->tls_version, &cfg->tls_engine, &cfg->tls_engine_kpass_sha1, &cfg->psk,
		&cfg->psk_identity, &cfg->socks5_host, &cfg->socks5_username, &cfg->socks5_password,
		&cfg->topic, &cfg->response_topic, &cfg->file_input, &cfg->format, &cfg->profile_name, &cfg->save_profile,
		&cfg->proxy_url, &cfg->applied_profile, &cfg->applied_profile_from, &cfg->tls_keylog,
		&cfg->no_tls_dropped, &cfg->ws_path, &cfg->profile_supplied, &cfg->profile_hint,
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free_secret(strs[i]);
	for (size_t i = 0; i < sizeof(cfg->file_origin) / sizeof(cfg->file_origin[0]); i++) {
		free(cfg->file_origin[i].profile);
		free(cfg->file_origin[i].where);
		cfg->file_origin[i].profile = cfg->file_origin[i].where = NULL;
	}
	free(cfg->message);
	cfg->message = NULL;
	free(cfg->argv_secrets);
	cfg->argv_secrets = NULL;
	cfg->argv_secret_count = 0;
	list_free(&cfg->topics, &cfg->topic_count);
	list_free(&cfg->filter_outs, &cfg->filter_out_count);
	list_free(&cfg->unsub_topics, &cfg->unsub_topic_count);
	mosquitto_property_free_all(&cfg->connect_props);
	mosquitto_property_free_all(&cfg->publish_props);
	mosquitto_property_free_all(&cfg->subscribe_props);
	mosquitto_property_free_all(&cfg->unsubscribe_props);
	mosquitto_property_free_all(&cfg->disconnect_props);
	mosquitto_property_free_all(&cfg->will_props);
}

const char *cfg_origin_option(int i)
{
	static const char *const names[] = {"cafile", "capath", "cert", "key"};
	return i >= 0 && i < 4 ? names[i] : NULL;
}

const char *cfg_origin_value(const struct config *cfg, int i)
{
	switch (i) {
	case FILE_ORIGIN_CAFILE: return cfg->cafile;
	case FILE_ORIGIN_CAPATH: return cfg->capath;
	case FILE_ORIGIN_CERT: return cfg->certfile;
	case FILE_ORIGIN_KEY: return cfg->keyfile;
	default: return NULL;
	}
}

void opt_error_free(struct opt_error *err)
{
	free(err->text);
	free(err->local);
	err->text = NULL;
	err->local = NULL;
	err->def = NULL;
}

bool option_for_tool(const struct option_def *def, enum tool tool)
{
	return (def->tools & (unsigned)tool) != 0;
}

const char *tool_mosquitto_name(enum tool tool)
{
	switch (tool) {
	case TOOL_PUB: return "mosquitto_pub";
	case TOOL_RR: return "mosquitto_rr";
	default: return "mosquitto_sub";
	}
}

const struct option_def *option_find_long(const char *longname)
{
	for (const struct option_def *d = option_table; d->shortname || d->longname; d++)
		if (d->longname && !strcmp(d->longname, longname))
			return d;
	return NULL;
}

const struct option_def *option_find(const char *arg)
{
	if (arg[0] != '-')
		return NULL;
	if (arg[1] == '-')
		return arg[2] ? option_find_long(arg + 2) : NULL;
	if (!arg[1] || arg[2])
		return NULL;
	for (const struct option_def *d = option_table; d->shortname || d->longname; d++)
		if (d->shortname == arg[1])
			return d;
	return NULL;
}

enum secret_kind option_secret(const struct option_def *def)
{
	static const char *const values[] = {"pw", "psk", "tls-engine-kpass-sha1"};
	static const char *const urls[] = {"url", "proxy"};
	for (size_t i = 0; def->longname && i < sizeof(values) / sizeof(values[0]); i++)
		if (!strcmp(def->longname, values[i]))
			return SECRET_VALUE;
	for (size_t i = 0; def->longname && i < sizeof(urls) / sizeof(urls[0]); i++)
		if (!strcmp(def->longname, urls[i]))
			return SECRET_URL;
	return SECRET_NONE;
}

const char *option_secret_name(const struct option_def *def)
{
	if (!def->longname || option_secret(def) == SECRET_NONE)
		return NULL;
	if (!strcmp(def->longname, "psk"))
		return "PSK";
	if (!strcmp(def->longname, "tls-engine-kpass-sha1"))
		return "key password hash";
	return "password";
}

/* The userinfo password as h_url and h_proxy read it: -L takes the first
 * '@' before the path, --proxy the last '@'; the password follows the first
 * ':' of what comes before it. */
bool option_url_password(const struct option_def *def, const char *value, size_t *off, size_t *len)
{
	const char *p = strstr(value, "://");
	if (option_secret(def) != SECRET_URL || !p)
		return false;
	p += 3;
	bool proxy = !strcmp(def->longname, "proxy");
	size_t auth = proxy ? strlen(p) : strcspn(p, "/");
	const char *at = NULL;
	for (size_t i = 0; i < auth; i++)
		if (p[i] == '@') {
			at = p + i;
			if (!proxy)
				break;
		}
	const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
	if (!colon || colon + 1 == at)
		return false;
	*off = (size_t)(colon + 1 - value);
	*len = (size_t)(at - colon - 1);
	return true;
}

/* Strict numbers: the whole word must be a number (leading blanks allowed,
 * as strtol does). Returns false when it is not. */
/* Trailing blanks are allowed too: options files often have them. */
static bool at_end(const char *end)
{
	return end[strspn(end, " \t")] == '\0';
}

static bool parse_ll(const char *s, long long *out, int base)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, base);
	if (end == s || !at_end(end) || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

static bool parse_real(const char *s, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || !at_end(end) || errno == ERANGE || v != v)
		return false;
	*out = v;
	return true;
}

static bool topic_utf8_ok(const char *t)
{
	size_t len = strlen(t);
	return len <= 65535 && mosquitto_validate_utf8(t, (int)len) == MOSQ_ERR_SUCCESS;
}

/* ---- handlers --------------------------------------------------------- */

static const char *disp(const struct option_def *def, char *buf, size_t len)
{
	if (def->shortname)
		snprintf(buf, len, "-%c", def->shortname);
	else
		snprintf(buf, len, "--%s", def->longname);
	return buf;
}

static int h_message_mode(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (cfg->pub_mode != MSG_NONE)
		return fail(err, def, "Error: Only one type of message can be sent at once.\n\n");
	switch (def->shortname) {
	case 'l': cfg->pub_mode = MSG_STDIN_LINE; return OPT_OK;
	case 'n': cfg->pub_mode = MSG_NULL; return OPT_OK;
	case 's': cfg->pub_mode = MSG_STDIN_FILE; return OPT_OK;
	default: break;
	}
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (def->shortname == 'f') {
		cfg->pub_mode = MSG_FILE;
		if (cfg_set_str(&cfg->file_input, v))
			return fail_nomem(err);
		return OPT_OK;
	}
	size_t len = strlen(v);
	if (len > MQTT_MAX_PAYLOAD)
		return fail(err, def, "Error: Message length must be less than %u bytes.\n\n", MQTT_MAX_PAYLOAD);
	free(cfg->message);
	cfg->message = strdup(v);
	if (!cfg->message)
		return fail_nomem(err);
	cfg->msglen = len;
	cfg->pub_mode = MSG_CMD;
	return OPT_OK;
}

static int h_id(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	bool is_prefix = def->shortname == 'I';
	char **other = is_prefix ? &cfg->id : &cfg->id_prefix;
	if (*other && cfg->id_layer == LAYER_PROFILE && cfg->layer == LAYER_CLI)
		cfg_set_str(other, NULL); /* the command line wins over a profile */
	if (*other)
		return fail(err, def, "Error: -i and -I argument cannot be used together.\n\n");
	cfg->id_layer = cfg->layer;
	if (*idx == argc - 1)
		return fail_missing(err, def);
	if (cfg_set_str(is_prefix ? &cfg->id_prefix : &cfg->id, argv[++(*idx)]))
		return fail_nomem(err);
	return OPT_OK;
}

/* Add a topic given by -t or -L; what is checked depends on the tool. */
static int add_topic(struct config *cfg, const char *topic, const char *argdesc,
		const struct option_def *def, struct opt_error *err)
{
	if (!topic_utf8_ok(topic))
		return fail(err, def, "Error: Malformed UTF-8 in %s argument.\n\n", argdesc);
	if (cfg->tool == TOOL_PUB || cfg->tool == TOOL_RR) {
		if (mosquitto_pub_topic_check(topic) == MOSQ_ERR_INVAL)
			return fail(err, def, "Error: Invalid publish topic '%s', does it contain '+' or '#'?\n", topic);
		if (cfg_set_str(&cfg->topic, topic))
			return fail_nomem(err);
		return OPT_OK;
	}
	if (mosquitto_sub_topic_check(topic) == MOSQ_ERR_INVAL)
		return fail(err, def, "Error: Invalid subscription topic '%s', are all '+' and '#' wildcards correct?\n", topic);
	if (list_add(&cfg->topics, &cfg->topic_count, topic))
		return fail_nomem(err);
	return OPT_OK;
}

/* The argument of a topic option that names one publish topic (no
 * wildcards) into *dst; kind words mosquitto's error ("will", "response"). */
static int set_publish_topic(char **dst, const char *kind, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (!topic_utf8_ok(v))
		return fail(err, def, "Error: Malformed UTF-8 in %s%s argument.\n\n", def->longname ? "--" : "-",
				def->longname ? def->longname : (char[]){def->shortname, '\0'});
	if (mosquitto_pub_topic_check(v) == MOSQ_ERR_INVAL)
		return fail(err, def, "Error: Invalid %s topic '%s', does it contain '+' or '#'?\n", kind, v);
	if (cfg_set_str(dst, v))
		return fail_nomem(err);
	return OPT_OK;
}

/* smqtt_rr -e: the response topic. */
static int h_response_topic(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	return set_publish_topic(&cfg->response_topic, "response", def, argc, argv, idx, err);
}

static int h_topic(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	return add_topic(cfg, argv[++(*idx)], "-t", def, err);
}

/* -T and -U: validated subscription filters kept in their own lists. */
static int h_filter(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	bool unsub = def->shortname == 'U';
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (!topic_utf8_ok(v))
		return fail(err, def, "Error: Malformed UTF-8 in -%c argument.\n\n", def->shortname);
	if (mosquitto_sub_topic_check(v) == MOSQ_ERR_INVAL)
		return fail(err, def, "Error: Invalid %s topic '%s', are all '+' and '#' wildcards correct?\n",
				unsub ? "unsubscribe" : "filter", v);
	if (unsub ? list_add(&cfg->unsub_topics, &cfg->unsub_topic_count, v)
			: list_add(&cfg->filter_outs, &cfg->filter_out_count, v))
		return fail_nomem(err);
	return OPT_OK;
}

static int h_will_topic(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	return set_publish_topic(&cfg->will_topic, "will", def, argc, argv, idx, err);
}

/* Validate a -F format string the way mosquitto_sub does. */
static int check_format(const char *str, const struct option_def *def, struct opt_error *err)
{
	static const char specs[] = "%ACDEFIlmPpqRSrtjJUxXfd";
	static const char hexseps[] = "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~ ";
	static const char escapes[] = "\\0aenrtv";
	size_t len = strlen(str);
	const char *incomplete = "Error: Incomplete format specifier.\n";

	for (size_t i = 0; i < len; i++) {
		if (str[i] == '%') {
			if (i == len - 1)
				return fail(err, def, "%s", incomplete);
			if (str[i + 1] == '0' || str[i + 1] == '-') {
				if (++i == len - 1)
					return fail(err, def, "%s", incomplete);
			}
			while (str[i + 1] >= '0' && str[i + 1] <= '9') {
				if (++i == len - 1)
					return fail(err, def, "%s", incomplete);
			}
			if (str[i + 1] == '.') {
				if (++i == len - 1)
					return fail(err, def, "%s", incomplete);
				while (str[i + 1] >= '0' && str[i + 1] <= '9') {
					if (++i == len - 1)
						return fail(err, def, "%s", incomplete);
				}
			}
			if (str[i + 1] && strchr(hexseps, str[i + 1]) && ++i == len - 1) /* %.2:x (mosquitto 2.1) */
				return fail(err, def, "%s", incomplete); /* 2.1: "Invalid format specifier '<NUL>'" */
			if (!strchr(specs, str[i + 1]) || str[i + 1] == '\0')
				return fail(err, def, "Error: Invalid format specifier '%c'.\n", str[i + 1]);
			i++;
		} else if (str[i] == '@') {
			if (i == len - 1)
				return fail(err, def, "%s", incomplete);
			i++;
		} else if (str[i] == '\\') {
			if (i == len - 1)
				return fail(err, def, "Error: Incomplete escape specifier.\n");
			if (!strchr(escapes, str[i + 1]) || str[i + 1] == '\0')
				return fail(err, def, "Error: Invalid escape specifier '%c'.\n", str[i + 1]);
			i++;
		}
	}
	return OPT_OK;
}

static int h_format(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (cfg_set_str(&cfg->format, v))
		return fail_nomem(err);
	return check_format(v, def, err);
}

static int h_proto(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (!strcmp(v, "mqttv31") || !strcmp(v, "31"))
		cfg->protocol_version = MQTT_PROTOCOL_V31;
	else if (!strcmp(v, "mqttv311") || !strcmp(v, "311"))
		cfg->protocol_version = MQTT_PROTOCOL_V311;
	else if (!strcmp(v, "mqttv5") || !strcmp(v, "5"))
		cfg->protocol_version = MQTT_PROTOCOL_V5;
	else
		return fail(err, def, "Error: Invalid protocol version argument given.\n\n");
	cfg->v_seq = ++cfg->parse_seq;
	return OPT_OK;
}

static int h_expiry(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	long long n;
	if (!strcmp(v, "\xe2\x88\x9e")) {
		cfg->session_expiry_interval = UINT32_MAX;
		cfg->x_seq = ++cfg->parse_seq;
		return OPT_OK;
	}
	if (!parse_ll(v, &n, 0)) {
		/* strtol-style: a number too large for long is "out of range" */
		char *end = NULL;
		errno = 0;
		(void)strtoll(v, &end, 0);
		if (end != v && *end == '\0')
			return fail(err, def, "Error: session-expiry-interval out of range.\n\n");
		return fail(err, def, "Error: session-expiry-interval not a number.\n\n");
	}
	if (n > (long long)UINT32_MAX || n < -1)
		return fail(err, def, "Error: session-expiry-interval out of range.\n\n");
	cfg->session_expiry_interval = (n == -1) ? (long long)UINT32_MAX : n;
	cfg->x_seq = ++cfg->parse_seq;
	return OPT_OK;
}

/* --ws-path /path: an absolute HTTP path, without spaces or controls. */
static int h_ws_path(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	bool ok = v[0] == '/' && strlen(v) < 256;
	for (const unsigned char *c = (const unsigned char *)v; ok && *c; c++)
		ok = *c > 0x20 && *c != 0x7f;
	if (!ok)
		return fail(err, def, N_("Error: Invalid --ws-path '%s': give an HTTP path that starts with / and has no "
				"spaces, at most 255 bytes, e.g. /mqtt.\n"), v);
	if (cfg_set_str(&cfg->ws_path, v))
		return fail_nomem(err);
	cfg->ws = true;
	return OPT_OK;
}

/* A host goes into DNS, the TLS SNI, the WebSocket Host header and the
 * SOCKS5 request: a control byte (CR, LF, tab, NUL's neighbours, DEL)
 * there is never a name and could split an HTTP header. Returns an error
 * naming the option, with the host shown escaped; OPT_OK when clean. */
static int check_host(struct opt_error *err, const struct option_def *def, const char *what, const char *host)
{
	const unsigned char *c = (const unsigned char *)host;
	while (*c && *c >= 0x20 && *c != 0x7f)
		c++;
	if (!*c)
		return OPT_OK;
	char shown[256];
	size_t o = 0;
	for (c = (const unsigned char *)host; *c && o + 5 < sizeof(shown); c++)
		if (*c >= 0x20 && *c != 0x7f)
			shown[o++] = (char)*c;
		else
			o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\x%02x", *c);
	shown[o] = '\0';
	return fail(err, def, N_("Error: Invalid host '%s' in %s: a host name or address has no control characters "
			"(CR, LF, tab, ...).\n\n"), shown, what);
}

static int h_host(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (check_host(err, def, "-h", v) != OPT_OK)
		return OPT_ERROR;
	if (cfg_set_str(&cfg->host, v))
		return fail_nomem(err);
	return OPT_OK;
}

static int h_unix(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	if (cfg_set_str(&cfg->host, argv[++(*idx)]))
		return fail_nomem(err);
	cfg->port = 0;
	return OPT_OK;
}

/* -P/--pw (or a password in -L) and --password-file: within one source
 * (options file, profile, command line) only one of them; a later source
 * replaces what an earlier one gave. */
static int take_password(struct config *cfg, const struct option_def *def, const char *value,
		bool from_file, struct opt_error *err)
{
	char **mine = from_file ? &cfg->password_file : &cfg->password;
	char **other = from_file ? &cfg->password : &cfg->password_file;
	if (*other && cfg->pw_layer == cfg->layer)
		return fail(err, def, N_("Error: Use either -P (or a password in the -L URL) or --password-file, not both.\n"));
	if (cfg_set_str(other, NULL) || cfg_set_str(mine, value))
		return fail_nomem(err);
	cfg->pw_layer = cfg->layer;
	return OPT_OK;
}

static int h_password(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	return take_password(cfg, def, argv[++(*idx)], def->offset == OFF(password_file), err);
}

/* -L mqtt(s)://[username[:password]@]host[:port]/topic */
static int h_url(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	char *url = strdup(argv[++(*idx)]);
	if (!url)
		return fail_nomem(err);
	char *p = url;
	int rc = OPT_OK;
	if (!strncasecmp(p, "mqtt://", 7)) {
		p += 7;
		cfg->port = 1883;
	} else if (!strncasecmp(p, "mqtts://", 8)) {
		p += 8;
		cfg->port = 8883;
		cfg->tls_use_os_certs = true;
	} else if (!strncasecmp(p, "ws://", 5)) {
		p += 5;
		cfg->port = 1883; /* mosquitto 2.1's code (its man page says 80) */
		cfg->ws = true;
	} else if (!strncasecmp(p, "wss://", 6)) {
		p += 6;
		cfg->port = 8883; /* (its man page says 443) */
		cfg->tls_use_os_certs = true;
		cfg->ws = true;
	} else {
		rc = fail(err, def, cfg->compat == COMPAT_21 ? "Error: Unsupported URL scheme.\n\n"
				: "Error: unsupported URL scheme.\n\n");
		goto out;
	}
	char *topic = strchr(p, '/');
	if (!topic) {
		rc = fail(err, def, "Error: Invalid URL for -L argument specified - topic missing.\n");
		goto out;
	}
	*topic++ = '\0';
	if ((rc = add_topic(cfg, topic, "-L topic", def, err)) != OPT_OK)
		goto out;
	char *at = strchr(p, '@');
	if (at) {
		*at = '\0';
		char *colon = strchr(p, ':');
		if (colon) {
			*colon = '\0';
			if ((rc = take_password(cfg, def, colon + 1, false, err)) != OPT_OK)
				goto out;
		}
		if (cfg_set_str(&cfg->username, p)) {
			rc = fail_nomem(err);
			goto out;
		}
		p = at + 1;
	}
	char *colon = strchr(p, ':');
	if (colon) {
		long long port;
		*colon = '\0';
		if (!parse_ll(colon + 1, &port, 10) || port < 0 || port > 65535) {
			rc = fail(err, def, "Error: Invalid port given: %s\n", colon + 1);
			goto out;
		}
		cfg->port = (int)port;
	}
	if ((rc = check_host(err, def, "-L", p)) != OPT_OK)
		goto out;
	if (cfg_set_str(&cfg->host, p))
		rc = fail_nomem(err);
out:
	explicit_bzero(url, strlen(argv[*idx]));
	free(url);
	return rc;
}

/* Decode %25, %3A/%3a and %40 in a proxy user or password. */
static bool proxy_urldecode(char *s)
{
	char *w = s;
	for (char *r = s; *r; ) {
		if (*r != '%') {
			*w++ = *r++;
			continue;
		}
		if (!r[1] || !r[2])
			return false;
		if (r[1] == '2' && r[2] == '5')
			*w++ = '%';
		else if (r[1] == '3' && (r[2] == 'A' || r[2] == 'a'))
			*w++ = ':';
		else if (r[1] == '4' && r[2] == '0')
			*w++ = '@';
		else
			return false;
		r += 3;
	}
	*w = '\0';
	return true;
}

/* --proxy socks5h://[username[:password]@]host[:port] */
static int h_proxy(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *url = argv[++(*idx)];
	const char *scheme = "socks5h://";
	if (strncmp(url, scheme, strlen(scheme)))
		return fail(err, def, "Error: Unsupported proxy protocol: %s\n", url);
	char *s = strdup(url + strlen(scheme));
	if (!s)
		return fail_nomem(err);
	int rc = OPT_OK;
	char *user = NULL, *pass = NULL, *host = s, *port = NULL;
	char *at = strrchr(s, '@');
	if (at) {
		*at = '\0';
		user = s;
		host = at + 1;
		char *c = strchr(user, ':');
		if (c) {
			*c = '\0';
			pass = c + 1;
		}
		if (!*user || strchr(user, '@') || (pass && (!*pass || strchr(pass, '@')))) {
			rc = fail(err, def, "Error: Invalid proxy.\n");
			goto out;
		}
	}
	char *c = strchr(host, ':');
	if (c) {
		*c = '\0';
		port = c + 1;
		if (!*port) {
			if (!user) { /* "socks5h://host:" */
				rc = fail(err, def, "Error: Invalid proxy.\n");
				goto out;
			}
			port = NULL; /* "socks5h://user@host:": the default port */
		}
	}
	if (!*host || (port && strchr(port, ':'))) {
		rc = fail(err, def, "Error: Invalid proxy.\n");
		goto out;
	}
	if ((user && !proxy_urldecode(user)) || (pass && !proxy_urldecode(pass))) {
		rc = fail(err, def, "Error: Invalid proxy.\n");
		goto out;
	}
	if ((rc = check_host(err, def, "--proxy", host)) != OPT_OK)
		goto out;
	long long p = 1080;
	if (port && (!parse_ll(port, &p, 10) || p < 1 || p > 65535)) {
		rc = fail(err, def, "Error: Invalid proxy port %s\n", port);
		goto out;
	}
	if (cfg_set_str(&cfg->socks5_host, host) || cfg_set_str(&cfg->socks5_username, user)
			|| cfg_set_str(&cfg->socks5_password, pass)) {
		rc = fail_nomem(err);
		goto out;
	}
	cfg->socks5_port = (int)p;
	if (cfg_set_str(&cfg->proxy_url, url))
		rc = fail_nomem(err);
out:
	explicit_bzero(s, strlen(s));
	free(s);
	return rc;
}

/* -D command identifier value, or -D command user-property key value. */
static int h_property(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	int i = *idx + 1; /* points at the command */
	int cmd, identifier, type;
	if (i + 2 > argc - 1)
		return fail(err, def, "Error: --property argument given but not enough arguments specified.\n\n");
	const char *cmdname = argv[i];
	const char *propname = argv[i + 1];
	bool v21 = cfg->compat == COMPAT_21;
	if (mosquitto_string_to_command(cmdname, &cmd))
		return v21 ? fail(err, def, "Error: Invalid command %s given in --property argument.\n\n", cmdname)
			: fail(err, def, "Error: Invalid command given in --property argument.\n\n");
	if (mosquitto_string_to_property_info(propname, &identifier, &type))
		return v21 ? fail(err, def, "Error: Invalid property name %s given in --property argument.\n\n", propname)
			: fail(err, def, "Error: Invalid property name given in --property argument.\n\n");
	if (mosquitto_property_check_command(cmd, identifier))
		return fail(err, def, "Error: %s property not allowed for %s in --property argument.\n\n", propname, cmdname);
	const char *key = NULL, *value;
	if (identifier == MQTT_PROP_USER_PROPERTY) {
		if (i + 3 > argc - 1)
			return fail(err, def, "Error: --property argument given but not enough arguments specified.\n\n");
		key = argv[i + 2];
		value = argv[i + 3];
		*idx = i + 3;
	} else {
		value = argv[i + 2];
		*idx = i + 2;
	}

	mosquitto_property **list = NULL;
	bool unsupported = false;
	switch (cmd) {
	case CMD_CONNECT: list = &cfg->connect_props; break;
	case CMD_PUBLISH:
		if (identifier == MQTT_PROP_TOPIC_ALIAS)
			cfg->have_topic_alias = true;
		unsupported = identifier == MQTT_PROP_SUBSCRIPTION_IDENTIFIER;
		list = &cfg->publish_props;
		break;
	case CMD_SUBSCRIBE:
		unsupported = identifier != MQTT_PROP_SUBSCRIPTION_IDENTIFIER
			&& identifier != MQTT_PROP_USER_PROPERTY;
		list = &cfg->subscribe_props;
		break;
	case CMD_UNSUBSCRIBE: list = &cfg->unsubscribe_props; break;
	case CMD_DISCONNECT: list = &cfg->disconnect_props; break;
	case CMD_WILL: list = &cfg->will_props; break;
	default: unsupported = true; break;
	}
	if (unsupported)
		return fail(err, def, "Error: %s property not supported for %s in --property argument.\n\n", propname, cmdname);

	long long n = 0;
	long long max = 0;
	switch (type) {
	case MQTT_PROP_TYPE_BYTE: max = UINT8_MAX; break;
	case MQTT_PROP_TYPE_INT16: max = UINT16_MAX; break;
	case MQTT_PROP_TYPE_INT32:
	case MQTT_PROP_TYPE_VARINT: max = UINT32_MAX; break;
	default: break;
	}
	if (max) {
		if (!parse_ll(value, &n, 10))
			return fail(err, def, "Error: Property value (%s) is not a number for property %s.\n\n", value, propname);
		if (n < 0 || n > max)
			return fail(err, def, "Error: Property value (%lld) out of range for property %s.\n\n", n, propname);
	}
	int rc;
	switch (type) {
	case MQTT_PROP_TYPE_BYTE: rc = mosquitto_property_add_byte(list, identifier, (uint8_t)n); break;
	case MQTT_PROP_TYPE_INT16: rc = mosquitto_property_add_int16(list, identifier, (uint16_t)n); break;
	case MQTT_PROP_TYPE_INT32: rc = mosquitto_property_add_int32(list, identifier, (uint32_t)n); break;
	case MQTT_PROP_TYPE_VARINT: rc = mosquitto_property_add_varint(list, identifier, (uint32_t)n); break;
	case MQTT_PROP_TYPE_BINARY:
		if (strlen(value) > UINT16_MAX)
			return fail(err, def, "Error: Property value too long for property %s.\n\n", propname);
		rc = mosquitto_property_add_binary(list, identifier, value, (uint16_t)strlen(value));
		break;
	case MQTT_PROP_TYPE_STRING: rc = mosquitto_property_add_string(list, identifier, value); break;
	case MQTT_PROP_TYPE_STRING_PAIR: rc = mosquitto_property_add_string_pair(list, identifier, key, value); break;
	default: return fail(err, def, "Error: Invalid property name given in --property argument.\n\n");
	}
	if (rc)
		return fail(err, def, "Error adding property %s %d\n", propname, type);
	cfg->protocol_version = MQTT_PROTOCOL_V5;
	return OPT_OK;
}

static int h_diag_format(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	if (strcmp(v, "text") && strcmp(v, "json"))
		return fail(err, def, N_("Error: Invalid --diag-format '%s': use text or json.\n\n"), v);
	cfg->diag_json = !strcmp(v, "json");
	return OPT_OK;
}

/* Flags with an effect beyond one bool, and --random-filter. */
static int h_flag(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	switch (def->shortname) {
	case 'c': cfg->clean_session = false; return OPT_OK;
	case 'v':
		/* -v prints the topic in smqtt_sub; smqtt_pub has no such thing,
		 * so there it asks for the connection trace */
		if (cfg->tool == TOOL_PUB)
			cfg->trace = true;
		else
			cfg->verbose = true;
		return OPT_OK;
	case 'N': cfg->eol = false; return OPT_OK;
	case 'R':
		cfg->no_retain = true;
		cfg->sub_opts = (cfg->sub_opts & ~0x30) | MQTT_SUB_OPT_SEND_RETAIN_NEVER;
		return OPT_OK;
	default: break;
	}
	if (!strcmp(def->longname, "help"))
		return OPT_HELP;
	if (!strcmp(def->longname, "version"))
		return OPT_VERSION;
	if (!strcmp(def->longname, "retain-as-published")) {
		cfg->sub_opts |= MQTT_SUB_OPT_RETAIN_AS_PUBLISHED;
		return OPT_OK;
	}
	/* --random-filter */
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	double pct;
	/* mosquitto 2.0 scales by 10, not 100, so its "100" prints ~10% of
	 * messages; smqtt means percent. */
	if (!parse_real(v, &pct) || pct < 0.1 || pct > 100.0)
		return fail(err, def, "%s", def->invalid);
	cfg->random_filter_pct = pct;
	cfg->random_filter = (int)(pct * 100.0 + 0.5); /* pct > 0: rounds half up, as lround */
	return OPT_OK;
}

/* -o FILE: cli reads the file before anything else (as mosquitto 2.1 does,
 * from a scan of argv); here the value is only stepped over. */
static int h_optfile(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	(void)cfg;
	(void)argv;
	if (*idx == argc - 1)
		return fail_missing(err, def);
	(*idx)++;
	return OPT_OK;
}

static int h_retain_handling(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	static const char *const names[] = {"always", "new", "never"};
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	for (int k = 0; k < 3; k++)
		if (!strcmp(v, names[k])) {
			cfg->sub_opts = (cfg->sub_opts & ~0x30) | (k << 4);
			return OPT_OK;
		}
	return fail(err, def, "Error: Unknown value '%s' for --retain-handling.\n\n", v);
}

int options_compat_from_name(const char *name)
{
	if (!strcmp(name, "2.0") || !strcmp(name, "20"))
		return COMPAT_20;
	if (!strcmp(name, "2.1") || !strcmp(name, "21"))
		return COMPAT_21;
	return 0;
}

static int h_compat(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	int c = options_compat_from_name(v);
	if (!c)
		return fail(err, def, N_("Error: Invalid --compat '%s': give 2.0 (mosquitto 2.0, the default) or 2.1.\n\n"), v);
	cfg->compat = (enum compat)c;
	return OPT_OK;
}

/* Generic storage for rows without a handler. */
static int store_generic(struct config *cfg, const struct option_def *def, int argc,
		char *const argv[], int *idx, struct opt_error *err)
{
	char *base = (char *)cfg;
	if (def->kind == ARG_NONE) {
		*(bool *)(base + def->offset) = true;
		return OPT_OK;
	}
	if (*idx == argc - 1)
		return fail_missing(err, def);
	const char *v = argv[++(*idx)];
	switch (def->kind) {
	case ARG_STR:
		if (cfg_set_str((char **)(base + def->offset), v))
			return fail_nomem(err);
		return OPT_OK;
	case ARG_INT: {
		long long n;
		if (!parse_ll(v, &n, 10) || n < def->min || n > def->max)
			return fail(err, def, def->invalid, v);
		*(int *)(base + def->offset) = (int)n;
		return OPT_OK;
	}
	case ARG_REAL: {
		double d;
		if (!parse_real(v, &d) || d < (double)def->min || d > (double)def->max)
			return fail(err, def, def->invalid, v);
		*(double *)(base + def->offset) = d;
		return OPT_OK;
	}
	default:
		return fail(err, def, "Error: Unknown option '%s'.\n", argv[*idx - 1]);
	}
}

enum opt_status options_parse(struct config *cfg, int argc, char *const argv[],
		struct opt_error *err)
{
	for (int i = 1; i < argc; i++) {
		const struct option_def *def = option_find(argv[i]);
		if (!def || !option_for_tool(def, cfg->tool))
			return fail(err, NULL, "Error: Unknown option '%s'.\n", argv[i]);
		opt_handler h = def->handler ? def->handler : store_generic;
		int start = i;
		int rc = h(cfg, def, argc, argv, &i, err);
		if (rc != OPT_OK)
			return (enum opt_status)rc;
		if (cfg->layer == LAYER_CLI && i > start && option_secret(def) != SECRET_NONE) {
			struct argv_secret *grown = realloc(cfg->argv_secrets,
					(size_t)(cfg->argv_secret_count + 1) * sizeof(*grown));
			if (!grown)
				return fail_nomem(err);
			cfg->argv_secrets = grown;
			grown[cfg->argv_secret_count++] = (struct argv_secret){i, def};
		}
	}
	return OPT_OK;
}

/* --no-tls: forget every TLS option, from whichever source, noting which
 * were given. The default port still follows --cafile/--capath/--psk, as
 * in mosquitto 2.1. */
static int drop_tls(struct config *cfg)
{
	struct { char **str; bool *flag; const char *name; } opts[] = {
		{&cfg->cafile, NULL, "--cafile"}, {&cfg->capath, NULL, "--capath"},
		{&cfg->certfile, NULL, "--cert"}, {&cfg->keyfile, NULL, "--key"},
		{&cfg->keyform, NULL, "--keyform"}, {&cfg->ciphers, NULL, "--ciphers"},
		{&cfg->tls_alpn, NULL, "--tls-alpn"}, {&cfg->tls_version, NULL, "--tls-version"},
		{&cfg->tls_engine, NULL, "--tls-engine"}, {&cfg->tls_engine_kpass_sha1, NULL, "--tls-engine-kpass-sha1"},
		{&cfg->psk, NULL, "--psk"}, {&cfg->psk_identity, NULL, "--psk-identity"},
		{&cfg->tls_keylog, NULL, "--tls-keylog"}, {NULL, &cfg->insecure, "--insecure"},
		{NULL, &cfg->tls_use_os_certs, "--tls-use-os-certs (or mqtts://)"},
		{NULL, &cfg->tls_resume, "--tls-resume"},
	};
	char names[512] = "";
	if (cfg->port == PORT_UNDEFINED && (cfg->cafile || cfg->capath || cfg->psk))
		cfg->port = 8883;
	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		bool set = opts[k].str ? *opts[k].str != NULL : *opts[k].flag;
		if (!set)
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", opts[k].name);
		if (opts[k].str)
			cfg_set_str(opts[k].str, NULL);
		else
			*opts[k].flag = false;
	}
	return cfg_set_str(&cfg->no_tls_dropped, names[0] ? names : NULL);
}

enum opt_status options_finish(struct config *cfg, struct opt_error *err)
{
	if (cfg->will_payload && !cfg->will_topic)
		return fail(err, NULL, "Error: Will payload given, but no will topic given.\n");
	if (cfg->will_retain && !cfg->will_topic)
		return fail(err, NULL, "Error: Will retain given, but no will topic given.\n");
	if ((cfg->certfile && !cfg->keyfile) || (cfg->keyfile && !cfg->certfile))
		return fail(err, NULL, "Error: Both certfile and keyfile must be provided if one of them is set.\n");
	if (cfg->keyform && !cfg->keyfile)
		return fail(err, NULL, "Error: If keyform is set, keyfile must be also specified.\n");
	if (cfg->tls_engine_kpass_sha1 && (!cfg->keyform || !cfg->tls_engine))
		return fail(err, NULL, "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n");
	if ((cfg->cafile || cfg->capath) && cfg->psk)
		return fail(err, NULL, "Error: Only one of --psk or --cafile/--capath may be used at once.\n");
	if (cfg->psk && !cfg->psk_identity)
		return fail(err, NULL, "Error: --psk-identity required if --psk used.\n");

	if (cfg->compat == COMPAT_21 && cfg->x_seq > cfg->v_seq)
		cfg->protocol_version = MQTT_PROTOCOL_V5;
	if (cfg->no_tls && drop_tls(cfg))
		return fail_nomem(err);
	if (cfg->protocol_version == MQTT_PROTOCOL_V5) {
		if (!cfg->clean_session && cfg->session_expiry_interval == -1)
			cfg->session_expiry_interval = UINT32_MAX;
		if (cfg->session_expiry_interval > 0) {
			if (cfg->session_expiry_interval == UINT32_MAX && (cfg->id_prefix || !cfg->id))
				return fail(err, NULL, "Error: You must provide a client id if you are using an infinite session expiry interval.\n");
			if (mosquitto_property_add_int32(&cfg->connect_props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					(uint32_t)cfg->session_expiry_interval))
				return fail_nomem(err);
		}
	} else if (!cfg->clean_session && (cfg->id_prefix || !cfg->id)) {
		return fail(err, NULL, "Error: You must provide a client id if you are using the -c option.\n");
	}
	if (cfg->tool == TOOL_SUB && cfg->topic_count == 0 && !cfg->check) {
		if (cfg->compat == COMPAT_20)
			return fail(err, NULL, "Error: You must specify a topic to subscribe to.\n");
		if (cfg->unsub_topic_count == 0)
			return fail(err, NULL, "Error: You must specify a topic to subscribe to (-t) or unsubscribe from (-U).\n");
	}
	if (!cfg->host && cfg_set_str(&cfg->host, "localhost"))
		return fail_nomem(err);

	static const struct { int cmd; const char *name; size_t off; } checks[] = {
		{CMD_CONNECT, "CONNECT", offsetof(struct config, connect_props)},
		{CMD_PUBLISH, "PUBLISH", offsetof(struct config, publish_props)},
		{CMD_SUBSCRIBE, "SUBSCRIBE", offsetof(struct config, subscribe_props)},
		{CMD_UNSUBSCRIBE, "UNSUBSCRIBE", offsetof(struct config, unsubscribe_props)},
		{CMD_DISCONNECT, "DISCONNECT", offsetof(struct config, disconnect_props)},
		{CMD_WILL, "Will", offsetof(struct config, will_props)},
	};
	for (size_t k = 0; k < sizeof(checks) / sizeof(checks[0]); k++) {
		mosquitto_property *props = *(mosquitto_property **)((char *)cfg + checks[k].off);
		int rc = mosquitto_property_check_all(checks[k].cmd, props);
		if (rc)
			return fail(err, NULL, "Error in %s properties: %s\n", checks[k].name, mosquitto_strerror(rc));
	}
	return OPT_OK;
}

char *config_value_text(const struct config *cfg, const struct option_def *def)
{
	const char *base = (const char *)cfg;
	char *out = NULL;
	if (!def->longname)
		return NULL;
	if (!strcmp(def->longname, "id-prefix"))
		return cfg->id_prefix ? strdup(cfg->id_prefix) : NULL;
	if (!strcmp(def->longname, "proxy"))
		return cfg->proxy_url ? strdup(cfg->proxy_url) : NULL;
	if (!strcmp(def->longname, "unix"))
		return cfg->port == 0 && cfg->host ? strdup(cfg->host) : NULL;
	if (!strcmp(def->longname, "ws-path"))
		return cfg->ws_path ? strdup(cfg->ws_path) : NULL;
	if (!strcmp(def->longname, "diag-format"))
		return cfg->diag_json ? strdup("json") : NULL;
	if (!strcmp(def->longname, "pw")) /* never beside the file it was read from */
		return cfg->password && !cfg->password_file ? strdup(cfg->password) : NULL;
	if (!strcmp(def->longname, "password-file"))
		return cfg->password_file ? strdup(cfg->password_file) : NULL;
	if (!strcmp(def->longname, "protocol-version")) {
		/* smqtt_rr's default (v5) is not a setting of the connection */
		if (cfg->tool == TOOL_RR && cfg->protocol_version == MQTT_PROTOCOL_V5)
			return NULL;
		if (cfg->protocol_version == MQTT_PROTOCOL_V31)
			return strdup("mqttv31");
		if (cfg->protocol_version == MQTT_PROTOCOL_V311)
			return cfg->tool == TOOL_RR ? strdup("mqttv311") : NULL;
		return strdup("mqttv5");
	}
	if (def->handler)
		return NULL;
	switch (def->kind) {
	case ARG_NONE:
		return *(const bool *)(base + def->offset) ? strdup("true") : NULL;
	case ARG_STR: {
		const char *v = *(char *const *)(base + def->offset);
		return v ? strdup(v) : NULL;
	}
	case ARG_INT: {
		struct config defaults;
		cfg_init(&defaults, cfg->tool);
		int v = *(const int *)(base + def->offset);
		int d = *(const int *)((const char *)&defaults + def->offset);
		if (v != d && asprintf(&out, "%d", v) < 0)
			out = NULL;
		return out;
	}
	default:
		return NULL;
	}
}

/* ---- help ------------------------------------------------------------- */

struct strbuf { char *s; size_t len, cap; };

static void sb_add(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *piece = xvasprintf(fmt, ap);
	va_end(ap);
	if (!piece)
		return;
	size_t n = strlen(piece);
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap + n + 1) * 2;
		char *g = realloc(b->s, cap);
		if (!g) {
			free(piece);
			return;
		}
		b->s = g;
		b->cap = cap;
	}
	memcpy(b->s + b->len, piece, n + 1);
	b->len += n;
	free(piece);
}

int options_libmosquitto_version(void)
{
	int major, minor, rev;
	mosquitto_lib_version(&major, &minor, &rev);
	return major * 10000 + minor * 100 + rev;
}

const char *option_help(const struct option_def *d, enum tool tool)
{
	/* mosquitto_rr words these two its own way */
	if (tool == TOOL_RR && d->shortname == 't')
		return "topic where the request message will be sent.";
	if (tool == TOOL_RR && d->shortname == 'q')
		return "quality of service level to use for communications. Defaults to 0.";
	return (tool == TOOL_PUB && d->help_pub) ? d->help_pub : d->help;
}

char *options_usage(enum tool tool, const char *prog)
{
	struct strbuf b = {0};
	int major, minor, rev;
	char name[64];
	mosquitto_lib_version(&major, &minor, &rev);
	if (tool == TOOL_PUB)
		sb_add(&b, "%s is a simple mqtt client that will publish a message on a single topic and exit.\n", prog);
	else if (tool == TOOL_RR)
		sb_add(&b, "%s is an mqtt client that can be used to publish a request message and wait for a response.\n"
				"%*sDefaults to MQTT v5, where the Request-Response feature will be used, but v3.1.1 can also be used\n"
				"%*swith v3.1.1 brokers.\n", prog, (int)strlen(prog) + 1, "", (int)strlen(prog) + 1, "");
	else
		sb_add(&b, "%s is a simple mqtt client that will subscribe to a set of topics and print all messages it receives.\n", prog);
	sb_add(&b, "%s version %s running on libmosquitto %d.%d.%d.\n\n", prog, SMQTT_VERSION, major, minor, rev);
	int indent = (int)strlen(prog) + 8;
	/* mosquitto's grouped summary, then a group of smqtt's own options */
	static const char *const pub_groups[] = {
		"{-f file | -l | -n | -m message}",
		"[-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x session-expiry]",
		"[-A bind_address] [--nodelay]",
		"[-i id] [-I id_prefix]",
		"[-d] [--quiet]",
		"[-M max_inflight]",
		"[-u username [-P password | --password-file file]]",
		"[--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]",
		NULL};
	static const char *const sub_groups[] = {
		"[-c] [-k keepalive] [-q qos] [-x session-expiry-interval]",
		"[-C msg_count] [-E] [-R] [--retained-only] [--remove-retained] [-T filter_out] [-U topic ...]",
		"[-F format]",
		"[-W timeout_secs]",
		"[-A bind_address] [--nodelay]",
		"[-i id] [-I id_prefix]",
		"[-d] [-N] [--quiet] [-v]",
		"[--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]",
		NULL};
	static const char *const rr_groups[] = {
		"{-f file | -n | -m message | -s}",
		"[-c] [-k keepalive] [-q qos] [-R] [-x session-expiry-interval]",
		"[-F format]",
		"[-W timeout_secs]",
		"[-A bind_address] [--nodelay]",
		"[-i id] [-I id_prefix]",
		"[-d] [-N] [--quiet] [-v]",
		"[--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]",
		NULL};
	static const char *const tls_groups[] = {
		"[{--cafile file | --capath dir} [--cert file] [--key file]",
		"  [--ciphers ciphers] [--insecure]",
		"  [--tls-alpn protocol]",
		"  [--tls-engine engine] [--keyform keyform] [--tls-engine-kpass-sha1]]",
		"  [--tls-use-os-certs]",
		"[--psk hex-key --psk-identity identity [--ciphers ciphers]]",
		"[--proxy socks-url]",
		NULL};
	if (tool == TOOL_PUB)
		sb_add(&b, "Usage: %s {[-h host] [--unix path] [-p port] [-u username] [-P password] [--ws] -t topic | -L URL}\n", prog);
	else if (tool == TOOL_RR)
		sb_add(&b, "Usage: %s {[-h host] [--unix path] [-p port] [-u username] [-P password] [--ws] -t topic | -L URL} -e response-topic\n", prog);
	else
		sb_add(&b, "Usage: %s {[-h host] [--unix path] [-p port] [-u username] [-P password] [--ws] -t topic | -L URL [-t topic]}\n", prog);
	for (const char *const *g = tool == TOOL_PUB ? pub_groups : tool == TOOL_RR ? rr_groups : sub_groups; *g; g++)
		sb_add(&b, "%*s%s\n", indent, "", *g);
	for (const char *const *g = tls_groups; *g; g++)
		sb_add(&b, "%*s%s\n", indent, "", *g);
	if (tool == TOOL_PUB)
		sb_add(&b, "%*s[--property command identifier value]\n", indent, "");
	sb_add(&b, "%*s[-D command identifier value]\n", indent, "");
	sb_add(&b, "%*s[--ws [--ws-path path]] [--tls-version version] [--connect-timeout seconds]\n", indent, "");
	sb_add(&b, "%*s[--profile name | --no-profile] [--save-profile name] [--check] [--trace%s]\n", indent, "",
			tool == TOOL_PUB ? " | -v" : "");
	sb_add(&b, "%*s[--diag-format text|json] [--compat 2.0|2.1]   (all options are listed below)\n", indent, "");
	sb_add(&b, "       %s --help\n\n", prog);
	for (const struct option_def *d = option_table; d->shortname || d->longname; d++) {
		if (!option_for_tool(d, tool))
			continue;
		const char *label = disp(d, name, sizeof(name));
		int pad = (int)strlen(label) + 4;
		/* smqtt's own options' help is in the catalogue; mosquitto's stays as it is */
		const char *help = _(option_help(d, tool));
		sb_add(&b, " %s : ", label);
		for (const char *line = help; *line; ) {
			const char *nl = strchr(line, '\n');
			int n = nl ? (int)(nl - line) : (int)strlen(line);
			sb_add(&b, "%.*s\n", n, line);
			if (!nl)
				break;
			line = nl + 1;
			sb_add(&b, "%*s", pad, "");
		}
		if (d->shortname && d->longname)
			sb_add(&b, "%*s(also --%s)\n", pad, "", d->longname);
	}
	sb_add(&b, "\nSee %s(1) for more information.\n\n", prog);
	return b.s;
}
