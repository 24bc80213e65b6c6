#!/usr/bin/env bash
# The guest image: Debian 12 with systemd, cgroup v2 and Debian's kernel, from Debian's archive only,
# plus the host's Node 20. Built once per set of inputs and kept as a zstd cache file; later runs
# unpack that. Prints the directory holding disk.img, vmlinuz and initrd.img.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CODEX32_GUEST_CACHE:-/var/cache/codex32-guest}
work=${CODEX32_GUEST_WORK:-/var/tmp/codex32-guest}
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
# the key: everything that goes into the image
key=$( { cat "$here/image.sh" "$here/packages" "$here/guest-run" "$here/codex32-guest.service"; sha256sum "$node_bin"; cat "$npm_dir/package.json"; } | sha256sum | cut -c1-16)
out="$work/$key"
log() { echo "guest image: $*" >&2; }
if [ -s "$out/disk.img" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache" "$work"
rm -rf "$out" && mkdir -p "$out"
if [ -s "$cache/$key.img.zst" ] && [ -s "$cache/$key.boot.tar" ]; then
  log "unpacking the cached image $cache/$key.img.zst"
  zstd -q -d --sparse -o "$out/disk.img" "$cache/$key.img.zst"
  tar -C "$out" -xf "$cache/$key.boot.tar"
  echo "$out"; exit 0
fi
log "building (mmdebstrap, Debian 12; a few minutes)"
root="$work/root-$key"
rm -rf "$root"
pkgs=$(grep -v '^#' "$here/packages" | paste -sd, -)
mirror=/etc/apt/sources.list.d/debian.sources
[ -e "$mirror" ] || mirror=http://deb.debian.org/debian
mmdebstrap --quiet --variant=minbase --format=directory --include="$pkgs" \
  --customize-hook='echo "MODULES=list" > "$1/etc/initramfs-tools/conf.d/codex32-guest"' \
  --customize-hook='printf "virtio_pci\nvirtio_blk\next4\n" >> "$1/etc/initramfs-tools/modules"' \
  --customize-hook='chroot "$1" update-initramfs -u -k all >/dev/null' \
  bookworm "$root" "$mirror" >&2
# the host's Node 20 (Debian 12's is 18): it links only libc, libstdc++, libm and libgcc_s
install -m 755 "$node_bin" "$root/usr/bin/node"
mkdir -p "$root/usr/lib/node_modules" && cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
install -m 755 "$here/guest-run" "$root/usr/local/sbin/guest-run"
install -m 644 "$here/codex32-guest.service" "$root/etc/systemd/system/codex32-guest.service"
ln -sf /etc/systemd/system/codex32-guest.service "$root/etc/systemd/system/multi-user.target.wants/codex32-guest.service"
# qemu's user network: a static address, no DHCP wait
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\n' > "$root/etc/systemd/network/10-guest.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
echo 'nameserver 10.0.2.3' > "$root/etc/resolv.conf"
echo codex32-guest > "$root/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' > "$root/etc/fstab"
# no login prompt on the console: nothing reads it
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$root/etc/systemd/system/getty@tty1.service"
# docker.io is there for its CLI, which the Docker API tests point at codex32: its daemons stay off
for u in docker.service docker.socket containerd.service; do ln -sf /dev/null "$root/etc/systemd/system/$u"; done
cp -L "$root/vmlinuz" "$out/vmlinuz" 2>/dev/null || cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp -L "$root/initrd.img" "$out/initrd.img" 2>/dev/null || cp "$root"/boot/initrd.img-* "$out/initrd.img"
truncate -s 16G "$out/disk.img.tmp"
mkfs.ext4 -q -F -L guest -d "$root" "$out/disk.img.tmp"
mv "$out/disk.img.tmp" "$out/disk.img"
rm -rf "$root"
log "caching as $cache/$key.img.zst"
zstd -q -T0 -3 -f -o "$cache/$key.img.zst.tmp" "$out/disk.img" && mv "$cache/$key.img.zst.tmp" "$cache/$key.img.zst"
tar -C "$out" -cf "$cache/$key.boot.tar" vmlinuz initrd.img
echo "$out"
