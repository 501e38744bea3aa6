#!/usr/bin/env bash
# Re-records the hardware corpus of the sequence differential test (issue 3): 3000 random instruction
# sequences run as CPL3 code under KVM on this host's processor, stored with their inputs and outputs in
# tests/HyperSharp.Hypervisor.Emulated.Tests/Differential/corpus/sequences.bin.br. Needs /dev/kvm.
# Commit the new file if the emulator still reproduces it (the replay test runs in every CI job).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HYPERSHARP_RECORD_CORPUS=1 dotnet test tests/HyperSharp.Hypervisor.Emulated.Tests/HyperSharp.Hypervisor.Emulated.Tests.csproj \
  -c Release --filter "FullyQualifiedName~SequenceDifferentialTests.Record_corpus_when_asked" --logger "console;verbosity=detailed"
dotnet test tests/HyperSharp.Hypervisor.Emulated.Tests/HyperSharp.Hypervisor.Emulated.Tests.csproj \
  -c Release --filter "FullyQualifiedName~SequenceDifferentialTests.Emulator_reproduces_the_recorded_hardware_corpus" --logger "console;verbosity=detailed"
