#!/usr/bin/env bash
# Records this host processor's hardware corpus for the sequence differential test (issue 3): 3000 random instruction
# sequences (the same cases on every host) run as CPL3 code under KVM on this host's processor, stored with their
# inputs and outputs and the processor they came from in
# tests/HyperSharp.Hypervisor.Emulated.Tests/Differential/corpus/sequences.<vendor>.bin.br, <vendor> being the CPUID
# vendor string (GenuineIntel, AuthenticAMD): one corpus per vendor, since undefined results differ between vendors.
# Needs /dev/kvm. Then replays every corpus, each with the emulator presenting its vendor; commit the new file if the
# emulator reproduces it (the replay runs in every CI job, on any host).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HYPERSHARP_RECORD_CORPUS=1 dotnet test tests/HyperSharp.Hypervisor.Emulated.Tests/HyperSharp.Hypervisor.Emulated.Tests.csproj \
  -c Release --filter "FullyQualifiedName~SequenceDifferentialTests.Record_corpus_when_asked" --logger "console;verbosity=detailed"
dotnet test tests/HyperSharp.Hypervisor.Emulated.Tests/HyperSharp.Hypervisor.Emulated.Tests.csproj \
  -c Release --filter "FullyQualifiedName~SequenceDifferentialTests.Emulator_reproduces_the_recorded_hardware_corpus" --logger "console;verbosity=detailed"
