# fish completion for smqtt_rr.
#
# Written by hand: tests/docs/check_docs.py checks that the options offered
# here are exactly those of the option table in common/options.c (plus the
# options still listed as PENDING there), and tests/docs/test_completions.py
# runs it in a real fish. smqtt_sub.fish is its twin and defines the
# functions used here.

# The functions (profiles, hosts, -D properties, -F sequences) are
# smqtt_sub's: its file defines them, next to this one.
if not functions -q __smqtt_format_sequences
    source (status dirname)/smqtt_sub.fish
end

complete -c smqtt_rr -f
# -D command identifier value: the identifier depends on the command.
complete -c smqtt_rr -n __smqtt_after_property_command -x -a '(__smqtt_property_names)'

complete -c smqtt_rr -s A -x -d 'Bind the outgoing socket to this local address'
complete -c smqtt_rr -s c -l disable-clean-session -d 'Use a persistent session'
complete -c smqtt_rr -s d -l debug -d 'Print debug messages'
complete -c smqtt_rr -s D -l property -x -a 'connect publish subscribe unsubscribe disconnect will' -d 'Add an MQTT v5 property'
complete -c smqtt_rr -s h -l host -x -a '(__smqtt_profile_hosts smqtt_rr; __fish_print_hostnames)' -d 'Broker host to connect to'
complete -c smqtt_rr -s i -l id -x -d 'Client id'
complete -c smqtt_rr -s I -l id-prefix -x -d 'Client id prefix (the process id is appended)'
complete -c smqtt_rr -s k -l keepalive -x -d 'Keep alive interval in seconds (5-65535)'
complete -c smqtt_rr -s L -l url -x -a 'mqtt:// mqtts:// ws:// wss://' -d 'Connect with a mqtt(s):// or ws(s)://user:password@host:port/topic URL'
complete -c smqtt_rr -s M -x -d 'Maximum QoS 1 and 2 messages in flight'
complete -c smqtt_rr -s p -l port -x -d 'Network port (0-65535)'
complete -c smqtt_rr -s P -l pw -x -d 'Password'
complete -c smqtt_rr -l password-file -r -F -d 'Read the password from a file'
complete -c smqtt_rr -s q -l qos -x -a '0\t"at most once" 1\t"at least once" 2\t"exactly once"' -d 'QoS of the request and of the subscription'
complete -c smqtt_rr -s t -l topic -x -d 'Topic to send the request to'
complete -c smqtt_rr -s u -l username -x -d 'User name'
complete -c smqtt_rr -s V -l protocol-version -x -a 'mqttv5\t"MQTT v5" mqttv311\t"MQTT v3.1.1 (default)" mqttv31\t"MQTT v3.1" 5\t"MQTT v5" 311\t"MQTT v3.1.1" 31\t"MQTT v3.1"' -d 'MQTT protocol version'
complete -c smqtt_rr -s x -x -d 'MQTT v5 session expiry interval in seconds'
complete -c smqtt_rr -l help -d 'Print usage and exit'
complete -c smqtt_rr -l version -d 'Print the version and exit'
complete -c smqtt_rr -l nodelay -d 'Disable Nagle\'s algorithm'
complete -c smqtt_rr -l quiet -d 'Do not print run-time errors'
complete -c smqtt_rr -l unix -r -F -d 'Connect through a unix domain socket'
complete -c smqtt_rr -l will-payload -x -d 'Payload of the Will'
complete -c smqtt_rr -l will-qos -x -a '0\t"at most once" 1\t"at least once" 2\t"exactly once"' -d 'QoS of the Will'
complete -c smqtt_rr -l will-retain -d 'Make the Will retained'
complete -c smqtt_rr -l will-topic -x -d 'Topic of the Will'
complete -c smqtt_rr -l cafile -r -F -d 'File of trusted CA certificates'
complete -c smqtt_rr -l capath -x -a '(__fish_complete_directories (commandline -ct))' -d 'Directory of trusted CA certificates'
complete -c smqtt_rr -l cert -r -F -d 'Client certificate'
complete -c smqtt_rr -l key -r -F -d 'Private key of the client certificate'
complete -c smqtt_rr -l keyform -x -a 'pem engine' -d 'Type of the private key'
complete -c smqtt_rr -l ciphers -x -d 'TLS 1.2 cipher list (OpenSSL syntax)'
complete -c smqtt_rr -l tls-version -x -a 'tlsv1.3\t"TLS 1.3 only" tlsv1.2\t"TLS 1.2 or newer (default)" tlsv1.1\t"TLS 1.1 or newer" tlsv1\t"TLS 1.0 or newer (smqtt)"' -d 'Lowest TLS version to accept'
complete -c smqtt_rr -l insecure -d 'Do not check the broker certificate host name'
complete -c smqtt_rr -l tls-alpn -x -d 'TLS ALPN protocol'
complete -c smqtt_rr -l tls-engine -x -d 'OpenSSL engine'
complete -c smqtt_rr -l tls-engine-kpass-sha1 -x -d 'SHA1 of the private key password for the engine'
complete -c smqtt_rr -l tls-use-os-certs -d 'Trust the CA certificates of the operating system'
complete -c smqtt_rr -l psk -x -d 'TLS-PSK pre-shared key in hexadecimal'
complete -c smqtt_rr -l psk-identity -x -d 'TLS-PSK client identity'
complete -c smqtt_rr -l proxy -x -a 'socks5h://' -d 'SOCKS5 proxy: socks5h://user:password@host:port'
complete -c smqtt_rr -l ws -d 'Connect using WebSockets'
complete -c smqtt_rr -l ws-path -x -a '/mqtt' -d 'HTTP path of the WebSocket upgrade, implies --ws (smqtt)'
complete -c smqtt_rr -l profile -x -a '(__smqtt_profile_names smqtt_rr)' -d 'Use a saved connection profile (smqtt)'
complete -c smqtt_rr -l no-profile -d 'Ignore saved profiles (smqtt)'
complete -c smqtt_rr -l list-profiles -d 'List the saved profiles and exit (smqtt)'
complete -c smqtt_rr -l save-profile -x -d 'Save the connection and TLS options as a profile (smqtt)'
complete -c smqtt_rr -l check -d 'Check the TLS files and probe the broker, then exit (smqtt)'
complete -c smqtt_rr -l connect-timeout -x -d 'Give up connecting after this many seconds (smqtt)'
complete -c smqtt_rr -l trace -d 'Print a step-by-step trace of the connection on stderr (smqtt)'
complete -c smqtt_rr -l tls-resume -d 'Save the TLS session and resume it on the next run (smqtt)'
complete -c smqtt_rr -l diag-format -x -a 'text\t"Error/why/fix lines (default)" json\t"Add a JSON line"' -d 'How failures are explained (smqtt)'
complete -c smqtt_rr -s F -x -a '(__smqtt_format_sequences)' -d 'Output format'
complete -c smqtt_rr -s N -d 'Do not print a newline after the response'
complete -c smqtt_rr -s R -d 'Ignore retained responses (mosquitto 2.1)'
complete -c smqtt_rr -s v -l verbose -d 'Print the topic before the response (and the trace on a terminal)'
complete -c smqtt_rr -s W -x -d 'Give up after this many seconds without a response'
complete -c smqtt_rr -l pretty -d 'Indent the JSON of %j and %J'
complete -c smqtt_rr -l retain-as-published -d 'Keep the retain flag as published (MQTT v5)'
complete -c smqtt_rr -s o -r -F -d 'Read options from this file instead of the default one'
complete -c smqtt_rr -l no-tls -d 'Ignore every TLS option and connect without TLS'
complete -c smqtt_rr -l tls-keylog -r -F -d 'Append the TLS key log (NSS format) to a file'
complete -c smqtt_rr -l compat -x -a '2.0\t"mosquitto 2.0 (default)" 2.1\t"mosquitto 2.1"' -d 'Behave as mosquitto 2.0 or 2.1 where they disagree (smqtt)'
complete -c smqtt_rr -l retain-handling -x -a 'always\t"Send retained messages (default)" new\t"Only for new subscriptions" never\t"Never"' -d 'MQTT v5 retain handling option'
complete -c smqtt_rr -s e -x -d 'Response topic to subscribe to and wait on'
complete -c smqtt_rr -s f -l file -r -F -d 'Send the contents of a file as the request'
complete -c smqtt_rr -s m -l message -x -d 'Send this request'
complete -c smqtt_rr -s n -l null-message -d 'Send a zero-length request'
complete -c smqtt_rr -s s -l stdin-file -d 'Send all of standard input as the request'
complete -c smqtt_rr -l latency -d 'Print the time from the request to the response'
