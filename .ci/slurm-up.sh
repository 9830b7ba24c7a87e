#!/usr/bin/env bash
# Start a real one-node SLURM cluster on localhost, with accounting, for the cluster tests
# (tests/workflow/test_cluster.py, `pytest -m cluster`). Debian 12, run as root.
#
#   .ci/slurm-up.sh      # installs the Debian packages if missing, starts the daemons
#   .ci/slurm-down.sh    # stops every daemon this script started, by PID
#
# Idempotent: daemons already started by an earlier run are left running, so calling it
# twice is fine. Daemons: munged, mariadbd + slurmdbd (accounting, so `sacct` works; the
# snakemake SLURM executor asks sacct for job states), slurmctld, slurmd.
#
# Settings (environment):
#   SCALELAW_SLURM_DIR       state, logs, pid files     (default /tmp/scalelaw-slurm)
#   SCALELAW_SLURM_CPUS      CPUs the node advertises   (default: nproc)
#   SCALELAW_SLURM_MEM_MB    RealMemory of the node     (default: 3/4 of MemTotal)
#   SCALELAW_SLURM_FAKE_GPU  1: advertise one fake GPU (gres gpu:1, File=/dev/null) so
#                            rules asking for `gpu=1` can be scheduled  (default 0)
#   SCALELAW_SLURM_DB_PORT   TCP port of the private MariaDB on 127.0.0.1 (default 33061)
#
# Traps handled (see ../shared/notes/snakemake-and-slurm.md):
#   - accounting via slurmdbd, so `sacct` works and snakemake's status checks finish;
#   - DefMemPerCPU, so a job without --mem does not take the whole node;
#   - MinJobAge=300, so `squeue` still knows finished jobs (--slurm-status-command squeue);
#   - the `root` account exists in slurmdbd, so profiles can set slurm_account: root;
#   - package installation must not start the distribution's own daemons (policy-rc.d).
set -euo pipefail

D="${SCALELAW_SLURM_DIR:-/tmp/scalelaw-slurm}"
CPUS="${SCALELAW_SLURM_CPUS:-$(nproc)}"
MEM_MB="${SCALELAW_SLURM_MEM_MB:-$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 3 / 4 ))}"
FAKE_GPU="${SCALELAW_SLURM_FAKE_GPU:-0}"
DB_PORT="${SCALELAW_SLURM_DB_PORT:-33061}"
DB_SOCK="$D/mysqld.sock"
CLUSTER=scalelaw

log() { echo "slurm-up: $*" >&2; }
die() { log "ERROR: $*"; for f in "$D"/log/*.log "$D"/log/*.err; do [ -s "$f" ] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }; done; exit 1; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

# alive <pidfile> <name>: the pid in the file is a running process called <name> (a
# stale pid file, e.g. after a reboot, may name a pid that now belongs to another program)
alive() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
# wait_for <tries of 0.2 s> <command...>
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

# --- packages -------------------------------------------------------------------------
pkgs="munge slurmctld slurmd slurm-client slurmdbd mariadb-server"
missing=$(for p in $pkgs; do dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  log "installing:" $missing
  # Keep the packages' maintainer scripts from starting system daemons (munge, mariadb,
  # slurm*): this script starts its own, which slurm-down.sh can then stop by PID.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

mkdir -p "$D"/{state,spool,log,started} /etc/slurm
# "$D/started/<name>" holds the pid of a daemon this script started; slurm-down.sh stops
# exactly those.
mark_started() { echo "$2" > "$D/started/$1"; }

# --- munge ----------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  wait_for 50 sh -c 'munge -n | unmunge' || die "munged did not start"
  mark_started munged "$(cat /run/munge/munged.pid)"
  log "munged started"
fi

# --- slurm.conf -----------------------------------------------------------------------
GRES_TYPES=""; NODE_GRES=""
if [ "$FAKE_GPU" = 1 ]; then
  GRES_TYPES="GresTypes=gpu"; NODE_GRES="Gres=gpu:1"
  echo "NodeName=localhost Name=gpu File=/dev/null" > /etc/slurm/gres.conf
else
  rm -f /etc/slurm/gres.conf
fi
cat > "$D/slurm.conf.new" <<CONF
# written by scalelaw .ci/slurm-up.sh: one-node test cluster on localhost
ClusterName=$CLUSTER
$GRES_TYPES
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default, a job with no --mem takes the whole node's memory: one job at a time
DefMemPerCPU=1000
SchedulerType=sched/backfill
ReturnToService=2
# keep finished jobs visible in squeue for 5 minutes (for --slurm-status-command squeue)
MinJobAge=300
InactiveLimit=0
KillWait=5
Waittime=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageEnforce=associations
JobCompType=jobcomp/none
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB $NODE_GRES State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
mv "$D/slurm.conf.new" /etc/slurm/slurm.conf

# --- accounting: a private MariaDB + slurmdbd -----------------------------------------
if ! alive "$D/mariadbd.pid" mariadbd; then
  if [ ! -d "$D/mysql/mysql" ]; then
    mariadb-install-db --user=root --datadir="$D/mysql" --auth-root-authentication-method=socket \
      >"$D/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
  fi
  /usr/sbin/mariadbd --no-defaults --user=root --datadir="$D/mysql" --socket="$DB_SOCK" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$D/mariadbd.pid" \
    --log-error="$D/log/mariadbd.err" --innodb-buffer-pool-size=64M \
    --performance-schema=OFF >/dev/null 2>&1 &
  wait_for 150 mariadb-admin --no-defaults --socket="$DB_SOCK" ping || die "mariadbd did not start"
  wait_for 50 test -s "$D/mariadbd.pid" || die "mariadbd wrote no pid file"
  mark_started mariadbd "$(cat "$D/mariadbd.pid")"
  log "mariadbd started (127.0.0.1:$DB_PORT)"
fi
mariadb --no-defaults --socket="$DB_SOCK" -e "
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
  CREATE DATABASE IF NOT EXISTS slurm_acct_db;
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" \
  || die "cannot create the accounting database"

cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
LogFile=$D/log/slurmdbd.log
PidFile=$D/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
chmod 600 /etc/slurm/slurmdbd.conf
if ! alive "$D/slurmdbd.pid" slurmdbd; then
  /usr/sbin/slurmdbd || die "slurmdbd did not start"
  wait_for 100 sacctmgr -n list cluster || die "slurmdbd does not answer"
  mark_started slurmdbd "$(cat "$D/slurmdbd.pid")"
  log "slurmdbd started"
fi
# the cluster must exist in the database before slurmctld registers; the `root` account
# and user come with it, which is what the profiles' `slurm_account: root` relies on
sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" \
  || sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null || die "cannot add cluster $CLUSTER"

# --- controller + node ----------------------------------------------------------------
if ! alive "$D/slurmctld.pid" slurmctld; then
  # first start: -c (no saved state); later starts recover the saved state so that job
  # ids keep growing and never clash with jobs already recorded in the accounting db
  if [ -e "$D/state/node_state" ]; then /usr/sbin/slurmctld; else /usr/sbin/slurmctld -c; fi \
    || die "slurmctld did not start"
  wait_for 100 scontrol ping || die "slurmctld does not answer"
  mark_started slurmctld "$(cat "$D/slurmctld.pid")"
  log "slurmctld started"
else
  scontrol reconfigure >/dev/null 2>&1 || true
fi
if ! alive "$D/slurmd.pid" slurmd; then
  /usr/sbin/slurmd -N localhost || die "slurmd did not start"   # node name != hostname
  wait_for 50 test -s "$D/slurmd.pid" || die "slurmd wrote no pid file"
  mark_started slurmd "$(cat "$D/slurmd.pid")"
  log "slurmd started"
fi
# a node that was down (e.g. after a restart) comes back
scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true

wait_for 150 sh -c 'sinfo -h -o %T | grep -Eqx "idle|mixed|allocated"' \
  || die "the node did not become ready: $(sinfo -h -o '%T %E' 2>&1)"
wait_for 100 sacct -n -X -S now-1minutes || die "sacct does not work"
log "SLURM up: cluster=$CLUSTER partition=debug CPUs=$CPUS RealMemory=${MEM_MB}M fake_gpu=$FAKE_GPU state=$D"
