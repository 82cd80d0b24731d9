#!/usr/bin/env bash
# Ensures the system packages edgecanary needs are present.
#   scripts/system-deps.sh demo   → what the sandbox demo needs
#   scripts/system-deps.sh test   → what the test suite needs (a superset)
# As root: installs the missing ones with apt-get. Otherwise: names exactly what to install.
set -euo pipefail
profile=${1:-demo}

# command → Debian package
declare -A need=(
  [go]=golang-go
  [qemu-aarch64-static]=qemu-user-static
  [openssl]=openssl
  [setpriv]=util-linux
)
if [ "$profile" = test ]; then
  need+=(
    [docker-registry]=docker-registry
    [skopeo]=skopeo
    [sshd]=openssh-server
    [ssh-keygen]=openssh-client
    [htpasswd]=apache2-utils
    [dockerd]=docker.io
    [ip]=iproute2
    [sudo]=sudo
    [unshare]=util-linux
  )
fi

missing=()
for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing+=("${need[$cmd]}")
  fi
done
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "edgecanary needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

# kubectl 1.20 (Debian kubernetes-client) as a second independent client, unpacked beside the
# preinstalled kubectl instead of installed (the two packages conflict).
if [ "$profile" = test ] && [ ! -x .tmp/kubectl-1.20/usr/bin/kubectl ]; then
  mkdir -p .tmp/kubectl-1.20
  if (cd .tmp && apt-get download kubernetes-client >/dev/null 2>&1); then
    dpkg-deb -x .tmp/kubernetes-client_*.deb .tmp/kubectl-1.20 && rm -f .tmp/kubernetes-client_*.deb
  else
    echo "note: could not download kubernetes-client (kubectl 1.20); its conformance tests will fail" >&2
  fi
fi
