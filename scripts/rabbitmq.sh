#!/usr/bin/env bash
# Start a throwaway RabbitMQ broker for development: its own data directory,
# node name and free ports, listening on 127.0.0.1 only, guest/guest allowed.
# Uses Debian's rabbitmq-server (apt-get install rabbitmq-server).
#
#   scripts/rabbitmq.sh [DIR]     start (DIR defaults to a new temp dir); prints the URL
#   scripts/rabbitmq.sh stop DIR  stop the broker started in DIR and remove DIR
#
# Then: export CONVEYOR_AMQP_URL=<printed URL>   (or CONVEYOR_TEST_AMQP_URL for go test)
set -euo pipefail

bin=/usr/lib/rabbitmq/bin
[ -x "$bin/rabbitmq-server" ] || { echo "rabbitmq.sh: $bin/rabbitmq-server not found: apt-get install rabbitmq-server" >&2; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setenv() { # DIR: export the broker's environment from DIR/ports
	local dir=$1
	# shellcheck disable=SC1091
	. "$dir/ports"
	export HOME=$dir RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist \
		RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log RABBITMQ_PID_FILE=$dir/rabbitmq.pid \
		RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
		RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf ERL_EPMD_ADDRESS=127.0.0.1 \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

if [ "${1:-}" = stop ]; then
	dir=${2:?usage: rabbitmq.sh stop DIR}
	setenv "$dir"
	"$bin/rabbitmqctl" -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	exit 0
fi

dir=${1:-$(mktemp -d /tmp/conveyor-rabbitmq.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=$(free_port)
dist=$(free_port)
while [ "$dist" = "$port" ]; do dist=$(free_port); done
printf 'node=conveyor-dev-%s@localhost\nport=%s\ndist=%s\n' "$port" "$port" "$dist" > "$dir/ports"
printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" > "$dir/rabbitmq.conf"
echo '[].' > "$dir/enabled_plugins"
: > "$dir/rabbitmq-env.conf"
setenv "$dir"
nohup "$bin/rabbitmq-server" > "$dir/server.log" 2>&1 &
for _ in $(seq 1 240); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "amqp://guest:guest@127.0.0.1:$port/"
		echo "rabbitmq.sh: broker up in $dir; stop it with: $0 stop $dir" >&2
		exit 0
	fi
	sleep 0.25
done
echo "rabbitmq.sh: broker did not start within 60 s; see $dir/server.log" >&2
exit 1
