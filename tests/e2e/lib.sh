# Shared by tests/e2e/run and tests/e2e/measure (sourced, not executed).
# The desktop app in its real window: tauri-driver (port $E2E_PORT) in front
# of WebKitGTK's WebKitWebDriver (port $E2E_NATIVE_PORT), which launches the
# app binary named in the session's `tauri:options.application`. Both drivers
# and the app inherit this shell's environment (checked: the app process sees
# COSTCARVE_* and DISPLAY), so the app is configured by exporting variables.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/costcarve/target}"
export E2E_PORT="${E2E_PORT:-4444}"
export E2E_NATIVE_PORT="${E2E_NATIVE_PORT:-4445}"
TAURI_DRIVER="${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver"
XVFB_SCREEN="-screen 0 1280x800x24"

e2e_log() { echo "e2e: $*" >&2; }

# tauri-driver into $CARGO_HOME/bin, once (about a minute on 2 cores).
ensure_tauri_driver() {
  if [ -x "$TAURI_DRIVER" ]; then
    return
  fi
  e2e_log "installing tauri-driver (cargo install tauri-driver --locked)"
  cargo install tauri-driver --locked
}

# The system tools the real window needs (Debian: xvfb xauth
# webkit2gtk-driver dbus gnome-keyring imagemagick poppler-utils: pdftoppm renders
# the review pack's first page). Installed when missing and root.
ensure_system_tools() {
  local missing=()
  command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
  [ -x /usr/bin/WebKitWebDriver ] || missing+=(webkit2gtk-driver)
  command -v dbus-run-session >/dev/null || missing+=(dbus)
  command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
  [ -x /usr/bin/import ] || missing+=(imagemagick)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  if [ "${#missing[@]}" -eq 0 ]; then
    return
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  e2e_log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_node_modules() {
  (cd "$E2E_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts tauri-driver in the background (needs DISPLAY) and waits until both
# it and WebKitWebDriver accept connections: a session asked for before that
# races the native driver's start. Sets DRIVER_PID; logs to $1.
start_driver() {
  local log="$1"
  if port_open "$E2E_PORT" || port_open "$E2E_NATIVE_PORT"; then
    e2e_log "port $E2E_PORT or $E2E_NATIVE_PORT is already in use; set E2E_PORT / E2E_NATIVE_PORT"
    return 1
  fi
  "$TAURI_DRIVER" --port "$E2E_PORT" --native-port "$E2E_NATIVE_PORT" \
    --native-driver /usr/bin/WebKitWebDriver >"$log" 2>&1 &
  DRIVER_PID=$!
  local i
  for i in $(seq 1 300); do
    if port_open "$E2E_PORT" && port_open "$E2E_NATIVE_PORT"; then
      e2e_log "tauri-driver (pid $DRIVER_PID) and WebKitWebDriver listen on $E2E_PORT and $E2E_NATIVE_PORT"
      return 0
    fi
    if ! kill -0 "$DRIVER_PID" 2>/dev/null; then
      e2e_log "tauri-driver exited; its log:"
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  e2e_log "tauri-driver did not listen within 30 s; its log:"
  cat "$log" >&2
  return 1
}

# Stops the tauri-driver we started, and what it started (WebKitWebDriver
# and any app it left behind), by process id only.
stop_driver() {
  [ -n "${DRIVER_PID:-}" ] || return 0
  local kids
  kids="$(descendants "$DRIVER_PID")"
  kill "$DRIVER_PID" 2>/dev/null || true
  # shellcheck disable=SC2086
  [ -z "$kids" ] || kill $kids 2>/dev/null || true
  wait "$DRIVER_PID" 2>/dev/null || true
  local i p left
  for i in $(seq 1 50); do
    left=""
    for p in $kids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -n "$left" ] || break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  [ -z "$left" ] || kill -9 $left 2>/dev/null || true
  DRIVER_PID=""
}

# All descendants of a pid (children first found through /proc).
descendants() {
  local pid="$1" child
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

resolve_bins() {
  export COSTCARVE_DESKTOP_BIN="${COSTCARVE_DESKTOP_BIN:-$CARGO_TARGET_DIR/debug/costcarve-desktop}"
  export COSTCARVE_CLI_BIN="${COSTCARVE_CLI_BIN:-$CARGO_TARGET_DIR/debug/costcarve}"
  local b
  for b in "$COSTCARVE_DESKTOP_BIN" "$COSTCARVE_CLI_BIN"; do
    if [ ! -x "$b" ]; then
      e2e_log "missing binary $b: build first (ui/dist, then cargo build -p costcarve-desktop -p costcarve-cli)"
      return 1
    fi
  done
}

# A fresh home for the app: data (the demo goes to \$COSTCARVE_DATA_DIR/demo),
# config (connections) and the folder export "save dialogs" answer with.
fresh_app_home() {
  E2E_HOME="$(mktemp -d "${TMPDIR:-/tmp}/costcarve-e2e.XXXXXX")"
  export E2E_HOME
  export COSTCARVE_DATA_DIR="$E2E_HOME/data"
  export COSTCARVE_CONFIG_DIR="$E2E_HOME/config"
  export COSTCARVE_SAVE_DIR="$E2E_HOME/saved"
  export COSTCARVE_DEMO_ROWS="${COSTCARVE_DEMO_ROWS:-60000}"
  mkdir -p "$COSTCARVE_DATA_DIR" "$COSTCARVE_CONFIG_DIR" "$COSTCARVE_SAVE_DIR"
}
