#!/usr/bin/env bash
# Which qemu accelerator can boot the guest: KVM only where /dev/kvm is usable and the CPU has hardware
# virtualisation (a PVM /dev/kvm, without vmx/svm, cannot boot Debian's kernel), else TCG.
if [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
  echo "-accel kvm -cpu host"
else
  echo "-accel tcg,thread=multi -cpu max"
fi
