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
  # sandbox pods are rootless containers: user, mount, PID and network namespaces, loopback up
  [unshare]=util-linux
  [nsenter]=util-linux
  [ip]=iproute2
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
    [nsenter]=util-linux
    [jq]=jq
    [curl]=curl
    [prometheus]=prometheus
    [chromium]=chromium
  )
fi

missing=()
for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing+=("${need[$cmd]}")
  fi
done
# the official Python client (Debian's, run with /usr/bin/python3): a third independent client
# of the sandbox's API in test/sandbox/python-client.test.ts
if [ "$profile" = test ] && ! /usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1; then
  missing+=(python3-kubernetes)
fi
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
# preinstalled kubectl instead of installed (the two packages conflict). The conformance tests
# need it, so failing to get it stops here with the command to run, not later in a test.
k120=.tmp/kubectl-1.20/usr/bin/kubectl
if [ "$profile" = test ] && [ ! -x "$k120" ]; then
  mkdir -p .tmp/kubectl-1.20
  rm -f .tmp/kubernetes-client_*.deb
  download() { (cd .tmp && apt-get download kubernetes-client >&2); }
  # apt-get download works unprivileged when the package lists exist; as root, refresh them once
  if ! download && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >&2 && download || true
  fi
  debs=(.tmp/kubernetes-client_*.deb)
  if [ -f "${debs[0]}" ]; then
    dpkg-deb -x "${debs[0]}" .tmp/kubectl-1.20 && rm -f .tmp/kubernetes-client_*.deb
  fi
  if [ ! -x "$k120" ]; then
    echo "error: could not get kubectl 1.20 (Debian kubernetes-client) into $k120" >&2
    echo "run (in $PWD): sudo apt-get update && (cd .tmp && apt-get download kubernetes-client) && dpkg-deb -x .tmp/kubernetes-client_*.deb .tmp/kubectl-1.20" >&2
    exit 3
  fi
fi

# Debian's static arm64 busybox, unpacked into .tmp: the tests build a `busybox` image from it
# (test/helpers/busybox-image.ts) and serve it through a docker.io registry mirror.
bb=.tmp/busybox-static-arm64/bin/busybox
if [ "$profile" = test ] && [ ! -x "$bb" ]; then
  mkdir -p .tmp/busybox-download
  rm -f .tmp/busybox-download/*.deb
  bbget() { (cd .tmp/busybox-download && apt-get download busybox-static:arm64 >&2); }
  if ! bbget && [ "$(id -u)" = 0 ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq >&2 && bbget || true
  fi
  bbdebs=(.tmp/busybox-download/busybox-static_*.deb)
  if [ -f "${bbdebs[0]}" ]; then
    dpkg-deb -x "${bbdebs[0]}" .tmp/busybox-static-arm64 && rm -rf .tmp/busybox-download
  fi
  if [ ! -x "$bb" ]; then
    echo "error: could not get Debian's busybox-static:arm64 into $bb" >&2
    echo "run (in $PWD, as root): dpkg --add-architecture arm64 && apt-get update && (cd .tmp && apt-get download busybox-static:arm64) && dpkg-deb -x .tmp/busybox-static_*.deb .tmp/busybox-static-arm64" >&2
    exit 3
  fi
fi

# binfmt_misc for arm64 and arm (Debian's qemu-user-static entries, flag F: the interpreter is
# opened now, so it also serves inside a pod's chroot). The sandbox itself needs none: it calls
# qemu-<arch>-static directly. But a foreign program that execs another foreign binary (busybox
# sh running `sleep`, as the workload tests' pods do) needs it, as with Docker. Desktop Debian and
# Ubuntu register these at boot (systemd-binfmt); containers and CI machines often have not.
if [ "$profile" = test ] && [ -d /proc/sys/fs ]; then
  for a in aarch64 arm; do
    [ -e "/proc/sys/fs/binfmt_misc/qemu-$a" ] && continue
    conf=/usr/lib/binfmt.d/qemu-$a.conf
    [ -f "$conf" ] || continue
    if [ "$(id -u)" = 0 ]; then
      [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
      cat "$conf" > /proc/sys/fs/binfmt_misc/register
      echo "registered binfmt_misc qemu-$a (from $conf)" >&2
    else
      echo "note: binfmt_misc has no qemu-$a entry; some sandbox tests need it: sudo systemctl restart systemd-binfmt (or: sudo sh -c 'cat $conf > /proc/sys/fs/binfmt_misc/register')" >&2
    fi
  done
fi

# Debian's dynamically linked busybox with the loader and libraries of libc6, for arm64 (run
# through qemu-user) and amd64, unpacked into .tmp: the container tests build images of them
# (test/helpers/busybox-image.ts, flavor dynamic-ARCH) to show a pod's binary finds its ELF
# interpreter and libraries inside the image.
if [ "$profile" = test ]; then
  for a in arm64 amd64; do
    case $a in arm64) t=aarch64-linux-gnu ;; amd64) t=x86_64-linux-gnu ;; esac
    out=.tmp/busybox-dynamic-$a
    [ -f "$out/lib/$t/libc.so.6" ] && [ -x "$out/bin/busybox" ] && continue
    rm -rf "$out-download" && mkdir -p "$out-download"
    dynget() { (cd "$out-download" && apt-get download "busybox:$a" "libc6:$a" >&2); }
    if ! dynget && [ "$(id -u)" = 0 ]; then
      [ "$a" = "$(dpkg --print-architecture)" ] || dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
      apt-get update -qq >&2 && dynget || true
    fi
    for deb in "$out-download"/*.deb; do [ -f "$deb" ] && dpkg-deb -x "$deb" "$out"; done
    rm -rf "$out-download"
    if [ ! -f "$out/lib/$t/libc.so.6" ]; then
      echo "error: could not get Debian's busybox:$a and libc6:$a into $out" >&2
      echo "run (in $PWD, as root): dpkg --add-architecture $a && apt-get update && (cd .tmp && apt-get download busybox:$a libc6:$a) && for d in .tmp/*_$a.deb; do dpkg-deb -x \$d $out; done" >&2
      exit 3
    fi
  done
fi
