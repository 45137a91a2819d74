#!/bin/bash
# Print the kernel version the guest test bed uses: the newest /lib/modules/<ver>
# that has a `build` link (headers for kbuild) AND a matching /boot/vmlinuz-<ver>
# (the kernel qemu boots). Never `uname -r`: the host kernel is a different one.
# Override with env KVER=<ver> (it is still validated).
set -euo pipefail

usable() {
	[[ -e /lib/modules/$1/build/Makefile && -f /boot/vmlinuz-$1 ]]
}

if [[ -n ${KVER:-} ]]; then
	if usable "$KVER"; then
		echo "$KVER"
		exit 0
	fi
	echo "kver: KVER=$KVER is not usable: need /lib/modules/$KVER/build (kernel headers) and /boot/vmlinuz-$KVER" >&2
	exit 1
fi

best=
while IFS= read -r v; do
	usable "$v" && best=$v
done < <(ls -1 /lib/modules 2>/dev/null | sort -V)

if [[ -z $best ]]; then
	echo "kver: no kernel with both /lib/modules/<ver>/build and /boot/vmlinuz-<ver>;" \
		"install linux-image-amd64 and linux-headers-amd64 (scripts/deps.sh)" >&2
	exit 1
fi
echo "$best"
