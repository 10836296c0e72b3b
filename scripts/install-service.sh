#!/usr/bin/env bash
# `sudo make install-service`: installs conveyor as a systemd service.
#   /usr/local/bin/conveyor                      the binary (bin/conveyor: run `make jetson`
#                                                or `make build` first, as yourself)
#   /usr/local/share/conveyor/models/yunet/...   the bundled YuNet (found beside
#                                                /usr/local/bin; the binary also embeds it)
#   /etc/conveyor/config.yaml                    from scripts/systemd/conveyor.yaml.example,
#                                                only if it does not exist yet
#   /etc/systemd/system/conveyor.service         scripts/systemd/conveyor.service
# and a system user `conveyor` in groups video and plugdev, then enables and
# starts the service (NO_START=1: enable only). Idempotent.
#
# DESTDIR=/some/dir installs the files under that folder and skips the user
# and systemctl steps (packaging, and the check in scripts/verify-service.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin/conveyor}
dest=${DESTDIR:-}
model=models/yunet/face_detection_yunet_2022mar.onnx

if [ -z "$dest" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-service: run as root: sudo make install-service" >&2; exit 1
fi
if [ ! -x "$bin" ]; then
  echo "install-service: $bin missing: run make jetson (or make build) first, as your own user" >&2; exit 1
fi
if [ ! -e "$here/assets/$model" ]; then
  echo "install-service: assets/$model missing: run make assets first" >&2; exit 1
fi

install -D -m 0755 "$bin" "$dest/usr/local/bin/conveyor"
install -D -m 0644 "$(readlink -f "$here/assets/$model")" "$dest/usr/local/share/conveyor/$model"
install -D -m 0644 "$here/scripts/systemd/conveyor.service" "$dest/etc/systemd/system/conveyor.service"
install -d -m 0755 "$dest/etc/conveyor"
if [ ! -e "$dest/etc/conveyor/config.yaml" ]; then
  install -m 0640 "$here/scripts/systemd/conveyor.yaml.example" "$dest/etc/conveyor/config.yaml"
  echo "install-service: wrote /etc/conveyor/config.yaml from the example: edit its source: list" >&2
fi
[ -n "$dest" ] && { echo "install-service: files installed under $dest" >&2; exit 0; }

if ! id conveyor >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/conveyor --no-create-home \
    --shell /usr/sbin/nologin --comment "conveyor video analytics" conveyor
fi
for g in video plugdev; do
  if getent group "$g" >/dev/null; then usermod -aG "$g" conveyor
  else echo "install-service: group $g does not exist: create it (groupadd -r $g) or the unit's SupplementaryGroups= fails" >&2; exit 1
  fi
done
chgrp conveyor /etc/conveyor/config.yaml
[ -e /etc/conveyor/conveyor.env ] && chmod 0600 /etc/conveyor/conveyor.env

if [ ! -d /run/systemd/system ]; then
  echo "install-service: systemd is not running here: files installed, service not started" >&2; exit 0
fi
systemctl daemon-reload
if [ "${NO_START:-0}" = 1 ]; then systemctl enable conveyor.service
else systemctl enable conveyor.service && systemctl restart conveyor.service
fi
echo "install-service: conveyor.service installed; journalctl -u conveyor -f shows its log" >&2
