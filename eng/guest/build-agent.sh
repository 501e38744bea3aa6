#!/usr/bin/env bash
# Builds the guest agent for the kit: one NativeAOT publish of src/HyperSharp.Guest for linux-x64 (no .NET in the
# guest), cached by the hash of its sources, the build settings, the SDK version and the libc6 package; then
# agent.cpio.gz, an initramfs archive to append to the kit's initrd.img: /sbin/hs-agent and the glibc libraries it
# links (taken from Debian's libc6 package, apt-get download, never installed on the host), and libcrypt.so.1 (libcrypt1)
# for checking guest passwords.
# Beside them: hs-agent.version and hs-agent.sig, the publisher's signature (ECDSA P-256) on the version and the
# executable's SHA-256, which is what `hyper host --agent-update DIR` offers to older agents in guests. The agent
# carries the publisher's public key and takes only updates that key signed.
#   HYPERSHARP_AGENT_VERSION       the version stamped in the agent (default 1.0.0)
#   HYPERSHARP_AGENT_SIGNING_KEY   the publisher's private key (PEM); default a key made once in the cache, which
#                                  is right for a development machine and CI, never for agents shipped to users
#   HYPERSHARP_ACTIVATION_KEY      the activation key (PEM, private or public): the agent carries its public half and is
#                                  activated by hosts started with `--activation-key` holding the private half; default
#                                  activation-key.pem made once in the cache, as above
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
for tool in dotnet apt-get apt-cache dpkg-deb cpio gzip readelf openssl; do
  command -v "$tool" >/dev/null || { log "missing tool '$tool'"; exit 2; }
done

version="${HYPERSHARP_AGENT_VERSION:-1.0.0}"
[[ "$version" =~ ^[0-9]+\.[0-9]+(\.[0-9]+){0,2}$ ]] || { log "HYPERSHARP_AGENT_VERSION '$version' is not MAJOR.MINOR[.BUILD[.REVISION]]"; exit 2; }
signing_key="${HYPERSHARP_AGENT_SIGNING_KEY:-$(dirname "$cache")/agent-signing-key.pem}"
if [ ! -f "$signing_key" ]; then
  [ -z "${HYPERSHARP_AGENT_SIGNING_KEY:-}" ] || { log "HYPERSHARP_AGENT_SIGNING_KEY: $signing_key does not exist"; exit 2; }
  mkdir -p "$(dirname "$signing_key")"
  (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$signing_key.tmp" 2>/dev/null) && mv "$signing_key.tmp" "$signing_key"
  log "made a development signing key for agent updates: $signing_key"
fi
activation_key="${HYPERSHARP_ACTIVATION_KEY:-$(dirname "$cache")/activation-key.pem}"
if [ ! -f "$activation_key" ]; then
  [ -z "${HYPERSHARP_ACTIVATION_KEY:-}" ] || { log "HYPERSHARP_ACTIVATION_KEY: $activation_key does not exist"; exit 2; }
  (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$activation_key.tmp" 2>/dev/null) && mv "$activation_key.tmp" "$activation_key"
  log "made a development activation key: $activation_key (give it to \`hyper host --activation-key\`)"
fi
# The uncompressed point is the last 65 bytes of a P-256 key's SubjectPublicKeyInfo.
public_point() { { openssl ec -in "$1" -pubout -outform DER 2>/dev/null || openssl ec -pubin -in "$1" -pubout -outform DER 2>/dev/null; } | tail -c 65 | base64 -w0; }
publisher=$(public_point "$signing_key")
[ -n "$publisher" ] || { log "cannot read a P-256 key from $signing_key"; exit 2; }
activation=$(public_point "$activation_key")
[ -n "$activation" ] || { log "cannot read a P-256 key from $activation_key"; exit 2; }
libc=$(apt-cache policy libc6 libcrypt1 | awk '/Candidate:/ {print $2}' | tr '\n' ' ')
key=$(cd "$root" && {
  find src/HyperSharp.Guest src/HyperSharp.Integration.Protocol \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' \) -print | sort | xargs sha256sum
  sha256sum Directory.Build.props Directory.Packages.props eng/guest/build-agent.sh
  dotnet --version; echo "libc6 $libc"; echo "version $version"; echo "publisher $publisher"; echo "activation $activation"
} | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/agent.cpio.gz" ] && [ -x "$out/hs-agent" ] && [ -f "$out/hs-agent.sig" ]; then echo "$out"; exit 0; fi

log "building agent $version, $key (NativeAOT publish, libc6 $libc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish "$root/src/HyperSharp.Guest/HyperSharp.Guest.csproj" -c Release -r linux-x64 -nologo -v quiet -clp:ErrorsOnly \
  -p:DebugType=none -p:Version="$version" -p:AgentPublisherKey="$publisher" -p:AgentActivationKey="$activation" -o "$work/publish" >&2
(cd "$work" && apt-get download libc6 libcrypt1 >/dev/null 2>"$work/apt.log") || { cat "$work/apt.log" >&2; exit 2; }
dpkg-deb -x "$work"/libc6_*.deb "$work/libc"
dpkg-deb -x "$work"/libcrypt1_*.deb "$work/libc"

mkdir -p "$work/root/sbin" "$work/root/lib/x86_64-linux-gnu" "$work/root/lib64" "$work/root/var/lib/hyperv"
cp "$work/publish/hs-agent" "$work/root/sbin/hs-agent"
for lib in $(readelf -d "$work/publish/hs-agent" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  file=$(find "$work/libc" -name "$lib" | head -1)
  [ -n "$file" ] || { log "$lib (needed by hs-agent) is not in libc6"; exit 2; }
  cp -L "$file" "$work/root/lib/x86_64-linux-gnu/$lib"
done
# crypt(3), which the agent loads only to check a guest account's password (exec as a user: PowerShell Direct -Credential).
cp -L "$(find "$work/libc" -name libcrypt.so.1 | head -1)" "$work/root/lib/x86_64-linux-gnu/libcrypt.so.1"
interp=$(readelf -l "$work/publish/hs-agent" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
cp -L "$(find "$work/libc" -name "$(basename "$interp")" | head -1)" "$work/root$interp"
# Built under a name of its own and renamed into place, so two builds at once (two worktrees) never mix files.
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.building-$key.XXXXXX")
(cd "$work/root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$tmp/agent.cpio.gz"
cp "$work/publish/hs-agent" "$tmp/hs-agent"
echo "$version" > "$tmp/hs-agent.version"
sha=$(sha256sum "$tmp/hs-agent" | cut -d' ' -f1)
printf 'hs-agent update\nversion %s\nsha256 %s\n' "$version" "$sha" > "$work/statement"
openssl dgst -sha256 -sign "$signing_key" -out "$tmp/hs-agent.sig" "$work/statement"
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp" # another build finished first: keep its copy
log "agent ready: $out (hs-agent $(du -h "$out/hs-agent" | cut -f1), archive $(du -h "$out/agent.cpio.gz" | cut -f1))"
echo "$out"
