# scripts/lib.sh - bash shared by scripts/test and scripts/demo (sourced, not
# run).  The caller defines say() and die() (its own "[tag]" prefix) first.

# install_missing PKG...: install the Debian packages that are not installed
# yet.  apt-get update runs only when something is missing; needs root or
# password-less sudo then.  Off Debian (no dpkg-query) it only says what is
# needed.
install_missing() {
  local packages=("$@")
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "no dpkg-query (not Debian?): not checking packages; needed: ${packages[*]}"
    return 0
  fi
  local p missing=()
  for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages: all installed"
    return 0
  fi
  say "packages missing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "not root and no password-less sudo; run: sudo apt-get install -y ${missing[*]}"
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update </dev/null
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}
