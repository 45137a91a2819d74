#!/bin/bash
# Install the Debian packages the build and the guest test bed need, if any is
# missing. Idempotent; run as root (or with sudo available) on Debian bookworm.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PKGS=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio
	kmod fio rdma-core ibverbs-utils rdmacm-utils perftest iproute2 e2fsprogs
	g++ make libgtest-dev clang-14 libclang-rt-14-dev llvm-14
	linux-source-6.1 libibverbs-dev librdmacm-dev ibverbs-providers nvme-cli gnuplot-nox
	udev jq)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all present"
	exit 0
fi

SUDO=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
	SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
fi

echo "deps: installing: ${missing[*]}"
# Wait (up to 10 min) instead of failing if another apt/dpkg holds the lock.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -q
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y -q "${missing[@]}"
echo "deps: installed: ${missing[*]}"
