# fish completion for smqtt_pub.
#
# Written by hand: tests/docs/check_docs.py checks that the options offered
# here are exactly those of the option table in common/options.c (plus the
# options still listed as PENDING there), and tests/docs/test_completions.py
# runs it in a real fish. smqtt_sub.fish is its twin.

# The saved profiles (NAME<TAB>HOSTS<TAB>FILE lines) of the tool being
# completed; nothing when it is not installed or fails.
function __smqtt_list_profiles -a default
    set -l cmd (commandline -opc)[1]
    test -n "$cmd"; or set cmd $default
    if not string match -q -- '*/*' $cmd; or not test -x $cmd
        set cmd (string replace -r '.*/' '' -- $cmd)
        command -sq -- $cmd; or return 0
    end
    command $cmd --list-profiles 2>/dev/null </dev/null
end

function __smqtt_profile_names -a default
    __smqtt_list_profiles $default | string replace -r '\t.*' '' | string match -v ''
end

# The hosts of the saved profiles, without patterns (*, ? or [).
function __smqtt_profile_hosts -a default
    __smqtt_list_profiles $default | string replace -rf '^[^\t]*\t([^\t]*).*' '$1' \
        | string split , | string match -v -r '^$|[*?\[]'
end

# True when the token before the previous one is -D/--property.
function __smqtt_after_property_command
    set -l t (commandline -opc)
    test (count $t) -ge 3; and contains -- $t[-2] -D --property
end

function __smqtt_property_names
    set -l t (commandline -opc)
    switch (string lower -- $t[-1])
        case connect
            printf '%s\n' authentication-data authentication-method maximum-packet-size \
                receive-maximum request-problem-information request-response-information \
                session-expiry-interval topic-alias-maximum user-property
        case publish
            printf '%s\n' content-type correlation-data message-expiry-interval \
                payload-format-indicator response-topic topic-alias user-property
        case subscribe
            printf '%s\n' subscription-identifier user-property
        case unsubscribe
            printf '%s\n' user-property
        case disconnect
            printf '%s\n' session-expiry-interval user-property
        case will
            printf '%s\n' content-type correlation-data message-expiry-interval \
                payload-format-indicator response-topic user-property will-delay-interval
    end
end

complete -c smqtt_pub -f
# -D command identifier value: the identifier depends on the command.
complete -c smqtt_pub -n __smqtt_after_property_command -x -a '(__smqtt_property_names)'

complete -c smqtt_pub -s A -x -d 'Bind the outgoing socket to this local address'
complete -c smqtt_pub -s c -l disable-clean-session -d 'Use a persistent session'
complete -c smqtt_pub -s d -l debug -d 'Print debug messages'
complete -c smqtt_pub -s D -l property -x -a 'connect publish subscribe unsubscribe disconnect will' -d 'Add an MQTT v5 property'
complete -c smqtt_pub -s h -l host -x -a '(__smqtt_profile_hosts smqtt_pub; __fish_print_hostnames)' -d 'Broker host to connect to'
complete -c smqtt_pub -s i -l id -x -d 'Client id'
complete -c smqtt_pub -s I -l id-prefix -x -d 'Client id prefix (the process id is appended)'
complete -c smqtt_pub -s k -l keepalive -x -d 'Keep alive interval in seconds (5-65535)'
complete -c smqtt_pub -s L -l url -x -a 'mqtt:// mqtts:// ws:// wss://' -d 'Connect with a mqtt(s):// or ws(s)://user:password@host:port/topic URL'
complete -c smqtt_pub -s M -x -d 'Maximum QoS 1 and 2 messages in flight'
complete -c smqtt_pub -s p -l port -x -d 'Network port (0-65535)'
complete -c smqtt_pub -s P -l pw -x -d 'Password'
complete -c smqtt_pub -l password-file -r -F -d 'Read the password from a file'
complete -c smqtt_pub -s q -l qos -x -a '0\t"at most once" 1\t"at least once" 2\t"exactly once"' -d 'QoS of the message'
complete -c smqtt_pub -s t -l topic -x -d 'Topic to publish to'
complete -c smqtt_pub -s u -l username -x -d 'User name'
complete -c smqtt_pub -s V -l protocol-version -x -a 'mqttv5\t"MQTT v5" mqttv311\t"MQTT v3.1.1 (default)" mqttv31\t"MQTT v3.1" 5\t"MQTT v5" 311\t"MQTT v3.1.1" 31\t"MQTT v3.1"' -d 'MQTT protocol version'
complete -c smqtt_pub -s x -x -d 'MQTT v5 session expiry interval in seconds'
complete -c smqtt_pub -l help -d 'Print usage and exit'
complete -c smqtt_pub -l version -d 'Print the version and exit'
complete -c smqtt_pub -l nodelay -d 'Disable Nagle\'s algorithm'
complete -c smqtt_pub -l quiet -d 'Do not print run-time errors'
complete -c smqtt_pub -l unix -r -F -d 'Connect through a unix domain socket'
complete -c smqtt_pub -l will-payload -x -d 'Payload of the Will'
complete -c smqtt_pub -l will-qos -x -a '0\t"at most once" 1\t"at least once" 2\t"exactly once"' -d 'QoS of the Will'
complete -c smqtt_pub -l will-retain -d 'Make the Will retained'
complete -c smqtt_pub -l will-topic -x -d 'Topic of the Will'
complete -c smqtt_pub -l cafile -r -F -d 'File of trusted CA certificates'
complete -c smqtt_pub -l capath -x -a '(__fish_complete_directories (commandline -ct))' -d 'Directory of trusted CA certificates'
complete -c smqtt_pub -l cert -r -F -d 'Client certificate'
complete -c smqtt_pub -l key -r -F -d 'Private key of the client certificate'
complete -c smqtt_pub -l keyform -x -a 'pem engine' -d 'Type of the private key'
complete -c smqtt_pub -l ciphers -x -d 'TLS 1.2 cipher list (OpenSSL syntax)'
complete -c smqtt_pub -l tls-version -x -a 'tlsv1.3\t"TLS 1.3 only" tlsv1.2\t"TLS 1.2 or newer (default)" tlsv1.1\t"TLS 1.1 or newer" tlsv1\t"TLS 1.0 or newer (smqtt)"' -d 'Lowest TLS version to accept'
complete -c smqtt_pub -l insecure -d 'Do not check the broker certificate host name'
complete -c smqtt_pub -l tls-alpn -x -d 'TLS ALPN protocol'
complete -c smqtt_pub -l tls-engine -x -d 'OpenSSL engine'
complete -c smqtt_pub -l tls-engine-kpass-sha1 -x -d 'SHA1 of the private key password for the engine'
complete -c smqtt_pub -l tls-use-os-certs -d 'Trust the CA certificates of the operating system'
complete -c smqtt_pub -l psk -x -d 'TLS-PSK pre-shared key in hexadecimal'
complete -c smqtt_pub -l psk-identity -x -d 'TLS-PSK client identity'
complete -c smqtt_pub -l proxy -x -a 'socks5h://' -d 'SOCKS5 proxy: socks5h://user:password@host:port'
complete -c smqtt_pub -l ws -d 'Connect using WebSockets'
complete -c smqtt_pub -l ws-path -x -a '/mqtt' -d 'HTTP path of the WebSocket upgrade, implies --ws (smqtt)'
complete -c smqtt_pub -l profile -x -a '(__smqtt_profile_names smqtt_pub)' -d 'Use a saved connection profile (smqtt)'
complete -c smqtt_pub -l no-profile -d 'Ignore saved profiles (smqtt)'
complete -c smqtt_pub -l list-profiles -d 'List the saved profiles and exit (smqtt)'
complete -c smqtt_pub -l save-profile -x -d 'Save the connection and TLS options as a profile (smqtt)'
complete -c smqtt_pub -l check -d 'Check the TLS files and probe the broker, then exit (smqtt)'
complete -c smqtt_pub -l connect-timeout -x -d 'Give up connecting after this many seconds (smqtt)'
complete -c smqtt_pub -l trace -d 'Print a step-by-step trace of the connection on stderr (smqtt)'
complete -c smqtt_pub -l tls-resume -d 'Save the TLS session and resume it on the next run (smqtt)'
complete -c smqtt_pub -l diag-format -x -a 'text\t"Error/why/fix lines (default)" json\t"Add a JSON line"' -d 'How failures are explained (smqtt)'
complete -c smqtt_pub -s f -l file -r -F -d 'Publish the contents of a file'
complete -c smqtt_pub -s l -l stdin-line -d 'Publish each line of standard input'
complete -c smqtt_pub -s m -l message -x -d 'Publish this message'
complete -c smqtt_pub -s n -l null-message -d 'Publish a zero-length message'
complete -c smqtt_pub -s r -l retain -d 'Retain the message'
complete -c smqtt_pub -s s -l stdin-file -d 'Publish all of standard input as one message'
complete -c smqtt_pub -l repeat -x -d 'Publish the message this many times'
complete -c smqtt_pub -l repeat-delay -x -d 'Seconds between repeated messages'
complete -c smqtt_pub -l persist -x -d 'Keep the connection in a keeper for this many idle seconds (smqtt)'
complete -c smqtt_pub -l persist-stop -d 'End the keeper of these connection settings (smqtt)'
complete -c smqtt_pub -s v -l verbose -d 'Print a trace of the connection on stderr (smqtt)'
complete -c smqtt_pub -s o -r -F -d 'Read options from this file instead of the default one'
complete -c smqtt_pub -l no-tls -d 'Ignore every TLS option and connect without TLS'
complete -c smqtt_pub -l tls-keylog -r -F -d 'Append the TLS key log (NSS format) to a file'
complete -c smqtt_pub -l compat -x -a '2.0\t"mosquitto 2.0 (default)" 2.1\t"mosquitto 2.1"' -d 'Behave as mosquitto 2.0 or 2.1 where they disagree (smqtt)'
