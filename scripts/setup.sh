# Sourced by the scripts in this folder: what they need before they start.

# cargo. rustup installs Rust for one user, so under `sudo` root's PATH lacks
# it: then the invoking user's toolchain is used (read only), with root's own
# CARGO_HOME for what cargo downloads and installs, so that nothing in the
# user's ~/.cargo becomes root's.
if ! command -v cargo >/dev/null && [ -n "${SUDO_USER:-}" ]; then
    sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6 || true)
    if [ -n "$sudo_home" ] && [ -x "$sudo_home/.cargo/bin/cargo" ]; then
        export PATH="$sudo_home/.cargo/bin:$PATH"
        export RUSTUP_HOME="${RUSTUP_HOME:-$sudo_home/.rustup}"
        export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
        echo "using $SUDO_USER's Rust toolchain ($sudo_home/.cargo/bin); downloads go to $CARGO_HOME"
    fi
fi
if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust with rustup (https://rustup.rs), with the rustfmt and clippy components" >&2
    exit 1
fi

# need_debian_packages PACKAGE...: as root, installs those that are missing;
# as anyone else, names them and the command to install them, and exits.
need_debian_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> installing ${missing[*]}"
        # apt's and debconf's chatter (progress, "delaying package
        # configuration") is shown only when the installation fails.
        local log
        log=$(mktemp)
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "installing ${missing[*]} failed (apt-get's output above)" >&2
            exit 1
        fi
        rm -f "$log"
    else
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
}
