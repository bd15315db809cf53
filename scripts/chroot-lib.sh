# A Debian root made with mmdebstrap, used through chroot: sourced by scripts/test-fresh.sh and
# packaging/cross.sh, which set $root first. The caller's EXIT trap calls root_leave.

root_mounted=()

# Name resolution and this machine's registries (npm's settings, the extra CA certificates its
# proxy needs) into the root; /proc, /dev and /sys bound in.
root_enter() {
  cp /etc/resolv.conf "$root/etc/"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  if [ -f ~/.npmrc ]; then cp ~/.npmrc "$root/root/.npmrc"; fi
  local m
  for m in proc dev sys; do
    mount --bind "/$m" "$root/$m"
    root_mounted+=("$root/$m")
  done
}

root_leave() {
  local i
  for ((i = ${#root_mounted[@]} - 1; i >= 0; i--)); do umount -l "${root_mounted[$i]}" || true; done
  root_mounted=()
}

# What a command in the root runs with: nothing of the caller's environment but this.
root_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
          NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt DEBIAN_FRONTEND=noninteractive)

# root_run "COMMANDS": bash in the root's /src/hlsd.
root_run() {
  chroot "$root" "${root_env[@]}" bash -c "cd /src/hlsd && $1"
}
