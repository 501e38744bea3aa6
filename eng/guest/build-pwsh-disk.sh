#!/usr/bin/env bash
# Builds HyperSharp's PowerShell disk for guests without PowerShell: hs-pwsh (src/HyperSharp.Guest.PowerShell,
# PowerShell's server mode over Microsoft.PowerShell.SDK) published self-contained for linux-x64 with ReadyToRun code
# (a guest on an emulated CPU would spend most of a session's start in the JIT otherwise), and the C++ runtime it
# needs from Debian's packages (libstdc++6, libgcc-s1, libssl3; apt-get download, never installed on the host), as an ext4
# file system in a raw image (mke2fs -d). Mounted at /opt/hs-pwsh in a guest, it is what PowerShell Direct starts.
# Layout: /hs-pwsh (a shell wrapper: finds its folder, sets the library path, execs the program), /app (the publish),
# /lib (libstdc++, libgcc_s, libssl, libcrypto), /lib/glibc (glibc's libdl/libpthread/librt stubs, used only by a guest that lacks them,
# as the kit guest does: its glibc is the agent's three libraries).
# Cached under ~/.cache/hypersharp/pwsh-disk by the hash of the sources, settings, SDK and packages.
# Prints the directory holding hs-pwsh.img on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${HYPERSHARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hypersharp}/pwsh-disk"
log() { echo "pwsh-disk: $*" >&2; }

if ! command -v mke2fs >/dev/null || ! command -v readelf >/dev/null; then
  if [ "$(id -u)" = 0 ]; then log "installing e2fsprogs binutils"; apt-get install -y -qq e2fsprogs binutils >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq e2fsprogs binutils >/dev/null; }
  else log "needs mke2fs and readelf (Debian packages e2fsprogs, binutils)"; exit 2; fi
fi
for tool in dotnet apt-get apt-cache dpkg-deb mke2fs readelf; do
  command -v "$tool" >/dev/null || { log "missing tool '$tool'"; exit 2; }
done
packages="libstdc++6 libgcc-s1 libc6 libssl3"
versions=$(for p in $packages; do echo "$p $(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')"; done)
key=$(cd "$root" && {
  find src/HyperSharp.Guest.PowerShell \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' \) -print | sort | xargs sha256sum
  sha256sum Directory.Build.props Directory.Packages.props eng/guest/build-pwsh-disk.sh
  dotnet --version; echo "$versions"
} | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/hs-pwsh.img" ]; then echo "$out"; exit 0; fi

log "building hs-pwsh $key (self-contained ReadyToRun publish; a few minutes)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
disk="$work/disk"
mkdir -p "$disk/app" "$disk/lib/glibc"
dotnet publish "$root/src/HyperSharp.Guest.PowerShell/HyperSharp.Guest.PowerShell.csproj" -c Release -r linux-x64 -nologo -v quiet -clp:ErrorsOnly \
  -p:PublishReadyToRun=true -p:DebugType=none -o "$disk/app" >&2
# Reference assemblies (for Add-Type, which a remoting server has no use for without a compiler's references, kept
# out for size), the debugger's and tracing's libraries (nothing in the guest attaches; LTTng is not there).
rm -rf "$disk/app/ref" "$disk/app/runtimes/win" "$disk/app/createdump" "$disk/app/libmscordaccore.so" "$disk/app/libmscordbi.so" "$disk/app/libcoreclrtraceptprovider.so"
# PowerShell's own modules (Microsoft.PowerShell.Management, Utility, Security, Host: Get-Content and the rest), which
# a server session loads from $PSHOME/Modules; the SDK package carries their manifests but the publish leaves them out.
sdk=$(sed -n 's/.*"Microsoft.PowerShell.SDK" Version="\([^"]*\)".*/\1/p' "$root/Directory.Packages.props")
modules="${NUGET_PACKAGES:-$HOME/.nuget/packages}/microsoft.powershell.sdk/$sdk/contentFiles/any/any/runtimes/unix/lib/net10.0/Modules"
[ -d "$modules" ] || { log "PowerShell's modules are not at $modules (Microsoft.PowerShell.SDK $sdk restored?)"; exit 2; }
cp -r "$modules" "$disk/app/Modules"

(cd "$work" && for p in $packages; do apt-get download "$p" >/dev/null 2>>"$work/apt.log" || { cat "$work/apt.log" >&2; exit 2; }; done)
mkdir -p "$work/pkg"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/pkg"; done
needed=$(for f in "$disk/app/hs-pwsh" "$disk/app"/*.so; do readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; done | sort -u)
for lib in $needed; do
  case "$lib" in
    lib*.so) [ -f "$disk/app/$lib" ] && continue ;;   # the runtime's own, beside the program
  esac
  case "$lib" in
    libc.so.6|libm.so.6|ld-linux-x86-64.so.2) continue ;;   # every glibc guest has these (the kit's from the agent)
    libdl.so.2|libpthread.so.0|librt.so.1) dest="$disk/lib/glibc" ;;
    *) dest="$disk/lib" ;;
  esac
  file=$(find "$work/pkg" -name "$lib" | head -1)
  [ -n "$file" ] || { log "$lib (needed by hs-pwsh) is in none of: $packages"; exit 2; }
  cp -L "$file" "$dest/$lib"
done
# OpenSSL, which .NET loads by name (no ELF dependency shows it): a remoting server makes an RSA key for the session
# key exchange as it starts.
for lib in libssl.so.3 libcrypto.so.3; do cp -L "$(find "$work/pkg" -name "$lib" | head -1)" "$disk/lib/$lib"; done
cat > "$disk/hs-pwsh" <<'WRAPPER'
#!/bin/sh
# hs-pwsh: PowerShell's server mode from HyperSharp's PowerShell disk (see eng/guest/build-pwsh-disk.sh).
d=$(dirname "$(readlink -f "$0")")
libs="$d/lib"
[ -e /lib/x86_64-linux-gnu/libdl.so.2 ] || [ -e /usr/lib/x86_64-linux-gnu/libdl.so.2 ] || libs="$libs:$d/lib/glibc"
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# No diagnostics pipe in /tmp, no telemetry or update check (the guest may have no network).
export DOTNET_EnableDiagnostics=0 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off HOME="${HOME:-/root}"
exec "$d/app/hs-pwsh" "$@"
WRAPPER
chmod 755 "$disk/hs-pwsh"

# A smoke test on this machine, with the disk's own libraries: the program starts and finds its modules.
smoke=$(PSModulePath= HOME="$work" "$disk/hs-pwsh" -NoProfile -NonInteractive -c '(Get-Command Get-Content).Source; 6*7' 2>&1) || true
[ "$(echo "$smoke" | tr '\n' ' ')" = "Microsoft.PowerShell.Management 42 " ] || { log "hs-pwsh does not run from the disk's files: $smoke"; exit 2; }

# The file system: its data plus a quarter for what PowerShell writes in it (none by default) and ext4's own.
kib=$(du -sk "$disk" | cut -f1)
size=$(( (kib * 5 / 4 + 16384) / 1024 ))M
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.building-$key.XXXXXX")
mke2fs -q -t ext4 -L hs-pwsh -E root_owner=0:0 -d "$disk" "$tmp/hs-pwsh.img" "$size" >&2
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp" # another build finished first: keep its copy
log "disk ready: $out/hs-pwsh.img ($size, $(du -sh "$disk/app" | cut -f1) of PowerShell)"
echo "$out"
