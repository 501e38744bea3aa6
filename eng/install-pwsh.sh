#!/usr/bin/env bash
# Installs PowerShell 7.6.9 (the dotnet tool) into a cache folder and prints the pwsh path. The
# PowerShell module's tests run a script through it; they skip with a reason when this fails.
set -euo pipefail
dir="${HYPERSHARP_PWSH_DIR:-$HOME/.cache/hypersharp/pwsh-7.6.9}"
if [ ! -x "$dir/pwsh" ]; then
  mkdir -p "$dir"
  dotnet tool install --tool-path "$dir" PowerShell --version 7.6.9 >&2
fi
echo "$dir/pwsh"
