#!/bin/sh
# The one list of Debian packages WireHub needs, and their installation. Used by `.ci/run`
# (everything), `npm run demo` (everything, when a command it needs is missing),
# `docker/Dockerfile` (--runtime) and `docker/sandbox/Dockerfile` (--sandbox).
#
#   scripts/install-deps.sh [--runtime | --sandbox] [--check] [--clean]
#
#   (no option)  the packages of a node, the tests and the demo
#   --runtime    only what a node needs (`wh up`, `0nc`)
#   --sandbox    everything, plus what the sandbox image adds (bash completion)
#   --check      install nothing: print the missing packages, exit 1 if there are any
#   --clean      after installing, remove apt's package lists (for images)
#
# Only missing packages are installed, so a second run changes nothing and asks no mirror.
# Not root and something missing: it prints the command to run and exits 1.
# `--no-install-recommends` matters: without it, wireguard-tools pulls in a kernel image.
set -eu

# What a node runs on (README "Requirements"): WireGuard (the kernel module when present, else
# wireguard-go; `wg` for the kernel's), `ip`, `nft`.
RUNTIME_PACKAGES="
wireguard-tools
wireguard-go
iproute2
nftables
"

# What the tests and the demo use besides (micronet's NAT routers, UPnP gateway and probes;
# bind9-dnsutils: dig, asking the DNS responder of `dns yes` in test/e2e/hostnames.test.ts;
# tmux: the terminal test of test/e2e/nc.test.ts, and the one `wh top` runs in: test/e2e/top.test.ts,
# test/unit/toptmux.test.ts; python3-prometheus-client: the Prometheus text parser of
# test/unit/metrics.test.ts and test/e2e/metrics.test.ts; curl: the metrics endpoint fetched in
# a namespace; zsh: test/unit/completion.test.ts; systemd: systemd-analyze verify of the unit in
# test/unit/service.test.ts; tinyproxy: the HTTP CONNECT proxy of test/unit/wsdial.test.ts and
# micronet's proxy-only routers; nginx: the TLS-terminating WebSocket proxy of
# test/micronet/nginx.ts). One package a line: add yours on its own line.
TEST_PACKAGES="
iptables
conntrack
iputils-ping
iperf3
socat
miniupnpd-nftables
miniupnpc
bind9-dnsutils
tmux
python3-prometheus-client
curl
zsh
systemd
tinyproxy
nginx
"

# What only the sandbox image adds.
SANDBOX_PACKAGES="
bash-completion
"

set_name=all
check=no
clean=no
for arg in "$@"; do
  case "$arg" in
    --runtime) set_name=runtime ;;
    --sandbox) set_name=sandbox ;;
    --check) check=yes ;;
    --clean) clean=yes ;;
    *) echo "install-deps.sh: unknown option $arg (options: --runtime, --sandbox, --check, --clean)" >&2; exit 2 ;;
  esac
done

case "$set_name" in
  runtime) PACKAGES="$RUNTIME_PACKAGES" ;;
  all) PACKAGES="$RUNTIME_PACKAGES $TEST_PACKAGES" ;;
  sandbox) PACKAGES="$RUNTIME_PACKAGES $TEST_PACKAGES $SANDBOX_PACKAGES" ;;
esac

missing=""
for p in $PACKAGES; do
  # `dpkg -s` also knows removed packages whose config files stay: ask for the installed state.
  case "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" in
    installed) ;;
    *) missing="$missing $p" ;;
  esac
done

if [ -z "$missing" ]; then
  echo "install-deps.sh: all $(echo "$PACKAGES" | wc -w) packages installed"
  exit 0
fi
if [ "$check" = yes ]; then
  echo "install-deps.sh: missing packages:$missing" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: missing packages:$missing; run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi
echo "install-deps.sh: installing$missing"
apt-get update
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
if [ "$clean" = yes ]; then
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi
