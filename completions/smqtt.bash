# bash completion for smqtt_pub, smqtt_sub and smqtt_rr      -*- shell-script -*-
#
# One file serves both tools; install it (or a link to it) under the name of
# each command in bash-completion's completions directory.
# Written by hand: tests/docs/check_docs.py checks that the options offered
# here are exactly those of the option table in common/options.c (plus the
# options still listed as PENDING there), and tests/docs/test_completions.py
# runs it in a real bash.

# Print the saved profiles (NAME<TAB>HOSTS<TAB>FILE lines) of the tool being
# completed; nothing when it is not installed or fails.
_smqtt_list_profiles()
{
	local cmd=${COMP_WORDS[0]}
	[[ $cmd == "~/"* ]] && cmd=$HOME/${cmd#"~/"}
	if [[ $cmd != */* ]] || [[ ! -x $cmd ]]; then
		cmd=${cmd##*/}
		type -P -- "$cmd" >/dev/null 2>&1 || return 0
	fi
	"$cmd" --list-profiles 2>/dev/null </dev/null
}

_smqtt_profile_names()
{
	local name rest
	while IFS=$'\t' read -r name rest; do
		[[ -n $name ]] && printf '%s\n' "$name"
	done < <(_smqtt_list_profiles)
}

# The hosts of the saved profiles, without patterns (*, ? or [).
_smqtt_profile_hosts()
{
	local name hosts rest h
	local -a list
	while IFS=$'\t' read -r name hosts rest; do
		IFS=, read -r -a list <<<"$hosts"
		for h in "${list[@]}"; do
			[[ -n $h && $h != *[\*\?\[]* ]] && printf '%s\n' "$h"
		done
	done < <(_smqtt_list_profiles)
}

_smqtt_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
	else
		compopt -o filenames 2>/dev/null
		if [[ $1 == -d ]]; then
			mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
	fi
}

_smqtt_words()
{
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_smqtt()
{
	local cur prev prev2 tool
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	prev2=
	((COMP_CWORD >= 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	((COMP_CWORD >= 2)) && prev2=${COMP_WORDS[COMP_CWORD - 2]}
	tool=${COMP_WORDS[0]##*/}

	local common_opts="-A -c --disable-clean-session -d --debug -D --property
		-h --host -i --id -I --id-prefix -k --keepalive -L --url -M -p --port
		-P --pw --password-file -q --qos -t --topic -u --username -V --protocol-version -x
		--help --version --nodelay --quiet --unix --will-payload --will-qos
		--will-retain --will-topic --cafile --capath --cert --key --keyform
		--ciphers --tls-version --insecure --tls-alpn --tls-engine
		--tls-engine-kpass-sha1 --tls-use-os-certs --psk --psk-identity --proxy
		--profile --no-profile --list-profiles --save-profile --check
		--connect-timeout --diag-format --trace --tls-resume -v --verbose
		-o --no-tls --tls-keylog --compat --ws --ws-path"
	local pub_opts="-f --file -l --stdin-line -m --message -n --null-message
		-r --retain -s --stdin-file --repeat --repeat-delay --persist --persist-stop"
	local sub_opts="-C -E -F -N -R -T --filter-out -U --unsubscribe -W --pretty --random-filter --remove-retained --retain-as-published
		--retained-only -w --watch --message-rate --retain-handling"
	local rr_opts="-e -f --file -m --message -n --null-message -s --stdin-file
		-F -N -R -W --pretty --retain-as-published --retain-handling --latency"

	# -D command identifier value: the identifier depends on the command.
	case $prev2 in
	-D | --property)
		case ${prev,,} in
		connect)
			_smqtt_words "authentication-data authentication-method
				maximum-packet-size receive-maximum
				request-problem-information request-response-information
				session-expiry-interval topic-alias-maximum user-property" ;;
		publish)
			_smqtt_words "content-type correlation-data
				message-expiry-interval payload-format-indicator
				response-topic topic-alias user-property" ;;
		subscribe) _smqtt_words "subscription-identifier user-property" ;;
		unsubscribe) _smqtt_words "user-property" ;;
		disconnect) _smqtt_words "session-expiry-interval user-property" ;;
		will)
			_smqtt_words "content-type correlation-data
				message-expiry-interval payload-format-indicator
				response-topic user-property will-delay-interval" ;;
		esac
		return 0
		;;
	esac

	if [[ $tool != *sub* && ($prev == -f || $prev == --file) ]]; then
		_smqtt_files
		return 0
	fi

	case $prev in
	-D | --property)
		_smqtt_words "connect publish subscribe unsubscribe disconnect will"
		return 0 ;;
	--profile)
		_smqtt_words "$(_smqtt_profile_names)"
		return 0 ;;
	-h | --host)
		_smqtt_words "$(_smqtt_profile_hosts)"
		if declare -F _known_hosts_real >/dev/null; then
			# bash-completion 2.11 (Debian 12) appends to COMPREPLY,
			# 2.12 and later (Debian 13) replace it: keep ours apart
			local -a profile_hosts=("${COMPREPLY[@]}")
			COMPREPLY=()
			_known_hosts_real -- "$cur"
			COMPREPLY=("${profile_hosts[@]}" "${COMPREPLY[@]}")
		fi
		return 0 ;;
	-V | --protocol-version)
		_smqtt_words "mqttv5 mqttv311 mqttv31 5 311 31"
		return 0 ;;
	--tls-version)
		_smqtt_words "tlsv1.3 tlsv1.2 tlsv1.1 tlsv1"
		return 0 ;;
	--keyform)
		_smqtt_words "pem engine"
		return 0 ;;
	--diag-format)
		_smqtt_words "text json"
		return 0 ;;
	--compat)
		_smqtt_words "2.0 2.1"
		return 0 ;;
	--retain-handling)
		_smqtt_words "always new never"
		return 0 ;;
	-q | --qos | --will-qos)
		_smqtt_words "0 1 2"
		return 0 ;;
	-L | --url)
		compopt -o nospace 2>/dev/null
		_smqtt_words "mqtt:// mqtts:// ws:// wss://"
		return 0 ;;
	--proxy)
		compopt -o nospace 2>/dev/null
		_smqtt_words "socks5h://"
		return 0 ;;
	--cafile | --cert | --key | --unix | --password-file | -o | --tls-keylog)
		_smqtt_files
		return 0 ;;
	--capath)
		_smqtt_files -d
		return 0 ;;
	# Options whose argument is free text: offer nothing.
	-A | -i | --id | -I | --id-prefix | -k | --keepalive | -M | -p | --port | \
	-P | --pw | -t | --topic | -u | --username | -x | --will-payload | \
	--will-topic | --ciphers | --tls-alpn | --tls-engine | \
	--tls-engine-kpass-sha1 | --psk | --psk-identity | --save-profile | --ws-path | \
	-m | --message | --repeat | --repeat-delay | -C | -F | -T | --filter-out | \
	-U | --unsubscribe | -W | --random-filter | --connect-timeout | --persist | -e)
		return 0 ;;
	esac

	local opts=$common_opts
	case $tool in
	*sub*) opts+=" $sub_opts" ;;
	*rr*) opts+=" $rr_opts" ;;
	*) opts+=" $pub_opts" ;;
	esac
	_smqtt_words "$opts"
	return 0
}

complete -F _smqtt smqtt_pub smqtt_sub smqtt_rr
