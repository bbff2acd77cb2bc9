#!/usr/bin/env bash
# `npm run demo`: works on a fresh clone, before or after `npm ci` (README "Two commands").
# Without node_modules (or with a package-lock.json newer than it), it runs `npm ci` first,
# which also compiles the TypeScript; then it builds and runs test/micronet/demo.ts, which
# installs the system packages it lacks through scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "The demo builds network namespaces and WireGuard interfaces: run it as root (sudo npm run demo)." >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "demo: node_modules missing or older than package-lock.json: npm ci"
  npm ci --no-audit --no-fund
fi
npm run build --silent
exec node dist/test/micronet/demo.js "$@"
