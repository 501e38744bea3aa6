#!/usr/bin/env bash
# Builds the guest agent for the kit: one NativeAOT publish of src/HyperSharp.Guest for linux-x64 (no .NET in the
# guest), cached by the hash of its sources, the build settings, the SDK version and the libc6 package; then
# agent.cpio.gz, an initramfs archive to append to the kit's initrd.img: /sbin/hs-agent and the glibc libraries it
# links (taken from Debian's libc6 package, apt-get download, never installed on the host).
# Prints the directory holding hs-agent and agent.cpio.gz on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${HYPERSHARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hypersharp}/guest-agent"
log() { echo "guest-agent: $*" >&2; }

# NativeAOT links with clang or gcc; readelf lists what the binary needs.
if ! command -v clang >/dev/null && ! command -v gcc >/dev/null || ! command -v readelf >/dev/null; then
  if [ "$(id -u)" = 0 ]; then log "installing gcc binutils"; apt-get install -y -qq gcc binutils zlib1g-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq gcc binutils zlib1g-dev >/dev/null; }
  else log "NativeAOT needs clang or gcc, and readelf (Debian packages gcc, binutils)"; exit 2; fi
fi
for tool in dotnet apt-get apt-cache dpkg-deb cpio gzip readelf; do
  command -v "$tool" >/dev/null || { log "missing tool '$tool'"; exit 2; }
done

libc=$(apt-cache policy libc6 | awk '/Candidate:/ {print $2}')
key=$(cd "$root" && {
  find src/HyperSharp.Guest src/HyperSharp.Integration.Protocol \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' \) -print | sort | xargs sha256sum
  sha256sum Directory.Build.props Directory.Packages.props eng/guest/build-agent.sh
  dotnet --version; echo "libc6 $libc"
} | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/agent.cpio.gz" ] && [ -x "$out/hs-agent" ]; then echo "$out"; exit 0; fi

log "building agent $key (NativeAOT publish, libc6 $libc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish "$root/src/HyperSharp.Guest/HyperSharp.Guest.csproj" -c Release -r linux-x64 -nologo -v quiet -clp:ErrorsOnly \
  -p:DebugType=none -o "$work/publish" >&2
(cd "$work" && apt-get download libc6 >/dev/null 2>"$work/apt.log") || { cat "$work/apt.log" >&2; exit 2; }
dpkg-deb -x "$work"/libc6_*.deb "$work/libc"

mkdir -p "$work/root/sbin" "$work/root/lib/x86_64-linux-gnu" "$work/root/lib64" "$work/root/var/lib/hyperv"
cp "$work/publish/hs-agent" "$work/root/sbin/hs-agent"
for lib in $(readelf -d "$work/publish/hs-agent" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  file=$(find "$work/libc" -name "$lib" | head -1)
  [ -n "$file" ] || { log "$lib (needed by hs-agent) is not in libc6"; exit 2; }
  cp -L "$file" "$work/root/lib/x86_64-linux-gnu/$lib"
done
interp=$(readelf -l "$work/publish/hs-agent" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
cp -L "$(find "$work/libc" -name "$(basename "$interp")" | head -1)" "$work/root$interp"
# Built under a name of its own and renamed into place, so two builds at once (two worktrees) never mix files.
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.building-$key.XXXXXX")
(cd "$work/root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$tmp/agent.cpio.gz"
cp "$work/publish/hs-agent" "$tmp/hs-agent"
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp" # another build finished first: keep its copy
log "agent ready: $out (hs-agent $(du -h "$out/hs-agent" | cut -f1), archive $(du -h "$out/agent.cpio.gz" | cut -f1))"
echo "$out"
