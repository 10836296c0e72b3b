#!/usr/bin/env bash
# Start a throwaway RabbitMQ broker, or a cluster of them, for development:
# each node has its own data directory, node name and free ports, listens on
# 127.0.0.1 only, and allows guest/guest. Uses Debian's rabbitmq-server
# (apt-get install rabbitmq-server). The Go tests start their own
# (mq/mqtest); this is for trying conveyor by hand.
#
#   scripts/rabbitmq.sh [DIR]              start one node (DIR defaults to a new temp dir); prints its URL
#   scripts/rabbitmq.sh cluster N [DIR]    start N nodes sharing one Erlang cookie, joined into one
#                                          cluster; prints their URLs, comma-separated (the form --amqp takes)
#   scripts/rabbitmq.sh kill DIR/nodeK     SIGKILL one node of a cluster (to try failover)
#   scripts/rabbitmq.sh restart DIR/nodeK  start a killed node again (same data and ports; it rejoins)
#   scripts/rabbitmq.sh stop DIR           stop the node(s) started in DIR and remove DIR
#
# Then: export CONVEYOR_AMQP_URL=<printed URL(s)>   (or CONVEYOR_TEST_AMQP_URL for go test)
set -euo pipefail

bin=/usr/lib/rabbitmq/bin
[ -x "$bin/rabbitmq-server" ] || { echo "rabbitmq.sh: $bin/rabbitmq-server not found: apt-get install rabbitmq-server" >&2; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setenv() { # DIR: export the node's environment from DIR/ports
	local dir=$1
	# shellcheck disable=SC1091
	. "$dir/ports"
	export HOME=$dir RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist \
		RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log RABBITMQ_PID_FILE=$dir/rabbitmq.pid \
		RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
		RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf ERL_EPMD_ADDRESS=127.0.0.1 \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
}

ctl() { # DIR ARGS…: rabbitmqctl against the node in DIR
	local dir=$1
	shift
	(setenv "$dir" && "$bin/rabbitmqctl" -n "$RABBITMQ_NODENAME" "$@")
}

start_node() { # DIR [COOKIE]: start a node in the background
	local dir=$1 cookie=${2:-}
	mkdir -p "$dir"
	local port dist
	port=$(free_port)
	dist=$(free_port)
	while [ "$dist" = "$port" ]; do dist=$(free_port); done
	printf 'node=conveyor-dev-%s@localhost\nport=%s\ndist=%s\n' "$port" "$port" "$dist" > "$dir/ports"
	printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" > "$dir/rabbitmq.conf"
	echo '[rabbitmq_shovel].' > "$dir/enabled_plugins"
	: > "$dir/rabbitmq-env.conf"
	if [ -n "$cookie" ]; then
		printf '%s' "$cookie" > "$dir/.erlang.cookie"
		chmod 400 "$dir/.erlang.cookie"
	fi
	run_node "$dir"
}

run_node() { # DIR: start the node prepared in DIR, in the background
	local dir=$1
	# exec, and the output redirected outside: no shell is left holding the
	# caller's stdout (a $(rabbitmq.sh …) would wait for it forever).
	(setenv "$dir" && exec nohup "$bin/rabbitmq-server") >> "$dir/server.log" 2>&1 < /dev/null &
}

wait_node() { # DIR: wait until the node accepts TCP connections
	local dir=$1
	# shellcheck disable=SC1091
	. "$dir/ports"
	for _ in $(seq 1 240); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.25
	done
	echo "rabbitmq.sh: the node in $dir did not start within 60 s; see $dir/server.log" >&2
	exit 1
}

url() { # DIR
	# shellcheck disable=SC1091
	. "$1/ports"
	echo "amqp://guest:guest@127.0.0.1:$port/"
}

case "${1:-}" in
stop)
	dir=${2:?usage: rabbitmq.sh stop DIR}
	for d in "$dir" "$dir"/node*; do
		[ -f "$d/ports" ] && { ctl "$d" stop >/dev/null 2>&1 || true; }
	done
	rm -rf "$dir"
	;;
kill)
	dir=${2:?usage: rabbitmq.sh kill DIR/nodeK}
	kill -KILL "$(cat "$dir/rabbitmq.pid")"
	echo "rabbitmq.sh: killed $(url "$dir"); start it again with: $0 restart $dir" >&2
	;;
restart)
	dir=${2:?usage: rabbitmq.sh restart DIR/nodeK}
	run_node "$dir"
	wait_node "$dir"
	url "$dir"
	;;
cluster)
	n=${2:?usage: rabbitmq.sh cluster N [DIR]}
	dir=${3:-$(mktemp -d /tmp/conveyor-rabbitmq.XXXXXX)}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	cookie=$(python3 -c 'import secrets; print(secrets.token_hex(20).upper())')
	for i in $(seq 1 "$n"); do start_node "$dir/node$i" "$cookie"; done
	for i in $(seq 1 "$n"); do wait_node "$dir/node$i"; done
	# shellcheck disable=SC1091
	first=$(. "$dir/node1/ports" && echo "$node")
	for i in $(seq 2 "$n"); do
		ctl "$dir/node$i" stop_app >/dev/null
		ctl "$dir/node$i" join_cluster "$first" >/dev/null
		ctl "$dir/node$i" start_app >/dev/null
	done
	ctl "$dir/node1" await_online_nodes "$n" >/dev/null
	urls=()
	for i in $(seq 1 "$n"); do urls+=("$(url "$dir/node$i")"); done
	(IFS=,; echo "${urls[*]}")
	echo "rabbitmq.sh: cluster of $n up in $dir; kill a node with: $0 kill $dir/node1; stop it with: $0 stop $dir" >&2
	;;
*)
	dir=${1:-$(mktemp -d /tmp/conveyor-rabbitmq.XXXXXX)}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	start_node "$dir"
	wait_node "$dir"
	url "$dir"
	echo "rabbitmq.sh: broker up in $dir; stop it with: $0 stop $dir" >&2
	;;
esac
