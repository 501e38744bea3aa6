# Sourced by the boot benchmarks. time_to_marks 'A|B|...' CMD...: seconds from starting CMD until each marker in turn
# shows in its output, one line each; CMD is then stopped by its own PID. time_to_init CMD...: the same for the guest
# kit's /init marker (HYPERSHARP-INIT-READY) alone. When the variable on_ready names a function, it is called with the
# PID once the last marker showed (to sample the process while the guest is up).
time_to_marks() {
  local marks="$1"; shift
  local start now pid out mark
  local -a list
  IFS='|' read -r -a list <<< "$marks"
  out="$(mktemp)"
  start=$(date +%s.%N)
  "$@" > "$out" 2>&1 < /dev/null &
  pid=$!
  for mark in "${list[@]}"; do
    while ! grep -qF "$mark" "$out" 2>/dev/null; do
      if ! kill -0 "$pid" 2>/dev/null; then echo "failed: $* (no '$mark')" >&2; tail -5 "$out" >&2; rm -f "$out"; return 1; fi
      sleep 0.02
    done
    now=$(date +%s.%N)
    echo "$now - $start" | bc
  done
  if [ -n "${on_ready:-}" ]; then "$on_ready" "$pid"; fi
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -f "$out"
}

time_to_init() { time_to_marks "HYPERSHARP-INIT-READY" "$@"; }
