#!/usr/bin/env bash
# Boot the guest image once: hand it CMD (a shell script, run by codex32-guest.service), share
# SHARE_DIR at /mnt/share, write what the command prints to OUT; the disk's writes are thrown away.
# usage: boot.sh IMAGE_DIR CMD SHARE_DIR OUT [TIMEOUT_SECONDS]
set -euo pipefail
img=$1 cmd=$2 share=$3 out=$4 limit=${5:-2400}
here=$(cd "$(dirname "$0")" && pwd)
read -r -a accel <<<"$("$here/accel.sh")"
mem=${CODEX32_GUEST_MEM:-4096}
cpus=${CODEX32_GUEST_CPUS:-$(nproc)}
: >"$out"
timeout --foreground -k 10 "$limit" qemu-system-x86_64 "${accel[@]}" -smp "$cpus" -m "$mem" -nographic -no-reboot \
  -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 quiet systemd.unified_cgroup_hierarchy=1 systemd.show_status=0" \
  -drive "file=$img/disk.img,if=virtio,format=raw,snapshot=on" \
  -virtfs "local,path=$share,mount_tag=share,security_model=none" \
  -fw_cfg "name=opt/guest/cmd,file=$cmd" \
  -device virtio-serial-pci -chardev "file,id=out,path=$out" -device virtserialport,chardev=out,name=guest.out \
  -nic user,model=virtio-net-pci -serial "file:$out.console" -monitor none
