#!/usr/bin/env bash
# Assembles the guest kit from Debian packages: the stock kernel (linux-image-amd64), busybox-static,
# and an initramfs holding busybox, resize2fs (e2fsprogs, with the libraries it loads), the kernel's own
# modules for our devices, and an /init that tests
# extend by appending a second cpio archive with scripts in /init.d/. Packages are downloaded with
# `apt-get download` and unpacked, never installed on the host. The kit is cached outside the repo,
# keyed by the package versions and this script, and rebuilt only when those change.
# Prints the kit directory (holding vmlinuz, initrd.img, kernel-version) on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HYPERSHARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hypersharp}/guest-kit"
log() { echo "guest-kit: $*" >&2; }

if ! command -v cpio >/dev/null && [ "$(id -u)" = 0 ]; then
  log "installing cpio"; apt-get install -y -qq cpio >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq cpio >/dev/null; }
fi
for tool in apt-get apt-cache dpkg-deb cpio gzip strings; do
  command -v "$tool" >/dev/null || { log "missing tool '$tool' (Debian packages: apt, dpkg, cpio, gzip, binutils)"; exit 2; }
done

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kernel_pkg" ]; then
  [ "$(id -u)" = 0 ] && apt-get update -qq >&2
  kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kernel_pkg" ] || { log "cannot resolve linux-image-amd64 (run apt-get update)"; exit 2; }
kver=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ {print $2}')
bver=$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')
# Tools busybox lacks, with the shared libraries they load: resize2fs (online ext4 resize of a disk grown while attached).
tool_pkgs="e2fsprogs libext2fs2 libcom-err2 libc6"
tver=$(for p in $tool_pkgs; do apt-cache policy "$p" | awk '/Candidate:/ {print $2}'; done | tr '\n' ' ')
key=$(printf '%s %s %s %s %s' "$kernel_pkg" "$kver" "$bver" "$tver" "$(cat "$here/build-kit.sh" "$here/init" "$here/modules.txt")" | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/initrd.img" ] && [ -f "$out/vmlinuz" ]; then echo "$out"; exit 0; fi

log "building kit $key ($kernel_pkg $kver, busybox-static $bver)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$kernel_pkg" busybox-static $tool_pkgs >/dev/null 2>"$work/apt.log") || { cat "$work/apt.log" >&2; exit 2; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"
release=$(ls "$work/kernel/lib/modules")
moddir="$work/kernel/lib/modules/$release"

# Resolve each wanted module's dependencies from its own .modinfo (Debian ships no modules.dep).
declare -A path_of=()
while IFS= read -r f; do n=$(basename "$f" .ko); path_of[${n//-/_}]="$f"; done < <(find "$moddir" -name '*.ko')
order=()
declare -A seen=()
add_module() {
  local name=${1//-/_}
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  local file=${path_of[$name]:-}
  [ -n "$file" ] || { log "module $name not found in $release"; exit 2; }
  local deps
  deps=$(strings -a "$file" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for d in $deps; do add_module "$d"; done
  order+=("$name")
}
while read -r m; do [ -n "$m" ] && [ "${m:0:1}" != "#" ] && add_module "$m"; done < "$here/modules.txt"

root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,root,init.d,lib/modules}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
mkdir -p "$work/tools" "$root/lib/x86_64-linux-gnu" "$root/lib64"
for p in $tool_pkgs; do dpkg-deb -x "$work"/${p}_*.deb "$work/tools"; done
cp "$work/tools/sbin/resize2fs" "$root/sbin/resize2fs"
for l in libext2fs.so.2 libe2p.so.2 libcom_err.so.2 libc.so.6 ld-linux-x86-64.so.2; do cp -L "$work/tools/lib/x86_64-linux-gnu/$l" "$root/lib/x86_64-linux-gnu/$l"; done
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
chmod 755 "$root/init" "$root/bin/busybox"
for m in "${order[@]}"; do cp "${path_of[$m]}" "$root/lib/modules/$m.ko"; echo "$m" >> "$root/etc/modules-order"; done
# Built under a name of its own and renamed into place: two builds of the same kit (tests in several checkouts at once)
# never write into one folder, and a kit in use is never removed. rename(2) refuses to replace a complete kit another
# build put there first; then that one is kept.
mkdir -p "$cache"
stage=$(mktemp -d "$cache/.$key.XXXXXX")
trap 'rm -rf "$work" "$stage"' EXIT
chmod 755 "$stage"
(cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$stage/initrd.img"
cp "$work/kernel/boot/vmlinuz-$release" "$stage/vmlinuz"
echo "$release" > "$stage/kernel-version"
printf '%s\n' "${order[@]}" > "$stage/modules"
mv -T "$stage" "$out" 2>/dev/null || [ -f "$out/initrd.img" ] || { log "could not move the kit into $out"; exit 2; }
ln -sfn "$key" "$cache/current"
log "kit ready: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
