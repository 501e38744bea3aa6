# Sourced by the boot benchmarks. time_to_init CMD...: seconds from starting CMD until the guest kit's /init
# marker (HYPERSHARP-INIT-READY) shows in its output; CMD is then stopped by its own PID. When the variable
# on_ready names a function, it is called with the PID first (to sample the process while the guest is up).
time_to_init() {
  local start end pid out
  out="$(mktemp)"
  start=$(date +%s.%N)
  "$@" > "$out" 2>&1 < /dev/null &
  pid=$!
  while ! grep -q "HYPERSHARP-INIT-READY" "$out" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "failed: $*" >&2; tail -5 "$out" >&2; rm -f "$out"; return 1; fi
    sleep 0.02
  done
  end=$(date +%s.%N)
  if [ -n "${on_ready:-}" ]; then "$on_ready" "$pid"; fi
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -f "$out"
  echo "$end - $start" | bc
}
