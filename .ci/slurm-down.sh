#!/usr/bin/env bash
# Stop the one-node SLURM cluster that .ci/slurm-up.sh started: cancel its jobs, then stop
# every daemon slurm-up.sh started, by PID, in reverse order. Daemons it did not start
# (e.g. a munged that was already running) are left alone. Safe when nothing runs.
#
#   SCALELAW_SLURM_DIR   state directory used by slurm-up.sh (default /tmp/scalelaw-slurm)
#   SCALELAW_SLURM_PURGE 1: also delete the state directory (accounting db, job state)
set -uo pipefail
D="${SCALELAW_SLURM_DIR:-/tmp/scalelaw-slurm}"
log() { echo "slurm-down: $*" >&2; }

# cancel queued and running jobs first, so no slurmstepd outlives slurmd
# is <name>: the pid recorded for daemon <name> is a running process of that name (a
# stale file, e.g. after a reboot, may name a pid that now belongs to another program)
is() { [ -s "$D/started/$1" ] && [ "$(cat "/proc/$(cat "$D/started/$1")/comm" 2>/dev/null)" = "$1" ]; }

if is slurmctld; then
  jobs=$(squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    log "cancelling jobs: $(echo $jobs)"
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ] && break; sleep 0.2
    done
  fi
fi

stop() {  # $1 = daemon name; its pid is in $D/started/$1
  local f="$D/started/$1" pid
  [ -e "$f" ] || return 0
  pid=$(cat "$f")
  if is "$1" && kill "$pid" 2>/dev/null; then
    for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then log "$1 ($pid) did not stop: SIGKILL"; kill -9 "$pid" 2>/dev/null; fi
    log "stopped $1 ($pid)"
  fi
  rm -f "$f"
}
for d in slurmd slurmctld slurmdbd mariadbd munged; do stop "$d"; done

if [ "${SCALELAW_SLURM_PURGE:-0}" = 1 ] && [ -d "$D" ]; then
  rm -rf "$D"; log "removed $D"
fi
exit 0
