#!/usr/bin/env bash
# Runs the whole test suite the way CI does. Installs the peer tools the tests use (qemu-utils for
# qemu-img/qemu-io) when they are missing and we are root; tests that still lack them say why and skip.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash eng/install-test-deps.sh
dotnet build HyperSharp.slnx -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet test HyperSharp.slnx -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --blame-hang-timeout 15m "$@" 2>&1 | tee /tmp/hypersharp-test.log
status=${PIPESTATUS[0]}
# One closing line in the plain form CI reads: "N passed, N failed, N skipped".
awk '/^(Passed!|Failed!)/ { for (i=1;i<=NF;i++) { if ($i=="Failed:") f+=$(i+1); if ($i=="Passed:") p+=$(i+1); if ($i=="Skipped:") s+=$(i+1) } }
     END { gsub(",","",p); printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' /tmp/hypersharp-test.log
exit "$status"
