# shellcheck shell=bash
# Shared helpers for scripts/*. Source it; do not execute it.

ge_die() { echo "error: $*" >&2; exit 1; }
ge_log() { [ -n "${QUIET:-}" ] || echo "==> $*" >&2; }

# Runs a command as root: directly when we are root, else through sudo when available.
ge_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else ge_die "need root (or sudo) to run: $*"
  fi
}

ge_pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Installs the given apt packages that are missing; runs `apt-get update` once, only when needed.
GE_APT_UPDATED=""
ge_apt_install() {
  local missing=() p
  for p in "$@"; do ge_pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || ge_die "missing packages (${missing[*]}) and no apt-get; install them by hand"
  local log; log="$(mktemp)"
  ge_log "apt-get install ${missing[*]}"
  if [ -z "$GE_APT_UPDATED" ]; then
    ge_as_root apt-get update -q >"$log" 2>&1 || { tail -n 20 "$log" >&2; ge_die "apt-get update failed"; }
    GE_APT_UPDATED=1
  fi
  ge_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; ge_die "apt-get install ${missing[*]} failed"; }
  rm -f "$log"
}
