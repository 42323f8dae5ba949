#!/bin/sh
# Build the guest initramfs: busybox-static, the modules that mount the host root over virtio-9p
# with an overlay, and guest/init + guest/stage2. Usage: mkinitrd.sh KVER OUT
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kver=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/lower" "$tmp/upper" "$tmp/root" \
    "$tmp/modules"
cp /bin/busybox "$tmp/bin/busybox"
for applet in sh mount mkdir insmod poweroff cat echo sed cp tr ls sort switch_root; do
    ln -s busybox "$tmp/bin/$applet"
done
n=0
for m in virtio_mmio virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
    n=$((n + 1))
    cp "$ko" "$tmp/modules/$(printf %02d "$n")-$(basename "$ko")"
done
cp "$here/guest/init" "$tmp/init"
cp "$here/guest/stage2" "$tmp/stage2"
chmod 0755 "$tmp/init" "$tmp/stage2"
(cd "$tmp" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
