#!/usr/bin/env bash
# An OpenSSH server on loopback for the sftp:// tests: `scripts/sshd.sh <dir> <port>`.
#
# Installs Debian's openssh-server if sshd is missing (CI starts on a fresh machine), generates a
# host key and a user key in <dir>, writes <dir>/known_hosts (the host key for 127.0.0.1:<port>)
# and <dir>/sshd_config, then runs sshd in the foreground as this user (no system service), with
# its log on stderr. Only the user running it can log in, with <dir>/user_key.
set -euo pipefail
dir=${1:?usage: sshd.sh <dir> <port>}
port=${2:?usage: sshd.sh <dir> <port>}
sshd=/usr/sbin/sshd

if [ ! -x "$sshd" ]; then
    as_root=()
    if [ "$(id -u)" != 0 ]; then
        if ! sudo -n true 2>/dev/null; then
            echo "sshd.sh: $sshd is missing; installing openssh-server needs root or" \
                "password-less sudo: run 'apt-get install openssh-server' as root" >&2
            exit 1
        fi
        as_root=(sudo -n)
    fi
    echo "sshd.sh: installing openssh-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends openssh-server >&2
fi
# Debian's package may start its own service: leave it alone, ours listens on its own port.

mkdir -p "$dir"
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C test-host -f "$dir/host_key"
[ -f "$dir/user_key" ] || ssh-keygen -q -t ed25519 -N '' -C test-user -f "$dir/user_key"
cp "$dir/user_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" > "$dir/known_hosts"
if [ "$(id -u)" = 0 ]; then
    mkdir -p /run/sshd  # privilege separation directory, which sshd checks when run as root
fi
# As another user, sshd runs unprivileged: only that user can log in (which is all we need).
cat > "$dir/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
exec "$sshd" -D -e -f "$dir/sshd_config"
