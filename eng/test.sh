#!/usr/bin/env bash
# Runs the whole test suite the way CI does. Installs the peer tools the tests use (qemu-utils for
# qemu-img/qemu-io) when they are missing and we are root; tests that still lack them say why and skip.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash eng/install-test-deps.sh
dotnet build HyperSharp.slnx -c Release -nologo -v quiet -clp:ErrorsOnly
# The PowerShell disk PowerShell Direct's guest test mounts: built here (a self-contained publish, minutes when not
# cached) so the test's own time is the guest's; a failure is the test's to report (it skips saying why).
bash eng/guest/build-pwsh-disk.sh >/dev/null || echo "test.sh: the PowerShell disk was not built; PowerShellDirectGuestTests will skip" >&2
set +e # a failing test run must still reach the summary line below
dotnet test HyperSharp.slnx -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --blame-hang-timeout 15m "$@" 2>&1 | tee /tmp/hypersharp-test.log
status=${PIPESTATUS[0]}
set -e
# One closing line in the plain form CI reads: "N passed, N failed, N skipped".
awk '/^(Passed!|Failed!)/ { for (i=1;i<=NF;i++) { v=$(i+1); gsub(",","",v); if ($i=="Failed:") f+=v; if ($i=="Passed:") p+=v; if ($i=="Skipped:") s+=v } }
     /^ +Passed: [0-9]+$/ { p+=$2 } /^ +Failed: [0-9]+$/ { f+=$2 } /^ +Skipped: [0-9]+$/ { s+=$2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' /tmp/hypersharp-test.log
exit "$status"
