#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for integration tests (`make test-slurm`).
# Debian/Ubuntu packages (Slurm 22.05 on bookworm), no systemd needed, run as root.
#
#   slurm/local_cluster.sh install   apt-get install slurmctld slurmd slurm-client munge (skipped when present)
#   slurm/local_cluster.sh start     write slurm.conf, start munged, slurmctld, slurmd; wait for an idle node
#   slurm/local_cluster.sh stop      cancel all jobs, stop slurmd, slurmctld and the munged it started
#   slurm/local_cluster.sh status    sinfo + squeue; exit 0 when the node is up
#   slurm/local_cluster.sh restart   stop, then start
#
# Every start is a fresh cluster: the controller's state dir is wiped (no jobs survive), and
# FirstJobId comes from the clock (and the last id seen), so job ids never repeat across starts.
#
# Environment (defaults in brackets):
#   SLURM_LOCAL_DIR        [/var/tmp/hrnet_seg_slurm] logs (log/), pid files (run/), state (state/)
#   SLURM_CONF             [/etc/slurm/slurm.conf] where slurm.conf is written: Slurm's client
#                          commands (sbatch, sinfo, submitit's calls) read it there. A file there
#                          that this script did not write is never overwritten.
#   SLURM_LOCAL_PARTITION  [debug] name of the (default) partition
#   SLURM_LOCAL_CPUS       [$(nproc)] CPUs of the node
#   SLURM_LOCAL_MEM_MB     [90 % of MemTotal] RealMemory of the node, in MB
#   SLURM_LOCAL_CRED_EXPIRE [10] AuthInfo cred_expire: also how long a requeued job waits
#                          (Reason=BeginTime) before it can run again; Slurm's default is 120 s
#   SLURM_LOCAL_KILL_WAIT  [30] KillWait: seconds between SIGTERM and SIGKILL when a job ends
#                          (scancel, time limit, requeue)
#   SLURM_LOCAL_SCHED_PARAMS [sched_interval=1,bf_interval=1,batch_sched_delay=0,sched_min_interval=0]
#                          SchedulerParameters (empty: Slurm's defaults, jobs start seconds later)
#   SLURM_LOCAL_TIMEOUT    [60] seconds to wait for the node to become idle on start
#   SLURM_LOCAL_STOP_TIMEOUT [20] seconds to wait for the daemons to exit on stop before SIGKILL
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/tmp/hrnet_seg_slurm}
CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
PARTITION=${SLURM_LOCAL_PARTITION:-debug}
CRED_EXPIRE=${SLURM_LOCAL_CRED_EXPIRE:-10}
KILL_WAIT=${SLURM_LOCAL_KILL_WAIT:-30}
SCHED_PARAMS=${SLURM_LOCAL_SCHED_PARAMS-sched_interval=1,bf_interval=1,batch_sched_delay=0,sched_min_interval=0}
START_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
STOP_TIMEOUT=${SLURM_LOCAL_STOP_TIMEOUT:-20}
PACKAGES=(slurmctld slurmd slurm-client munge)
MARKER="# Written by hrnet_seg slurm/local_cluster.sh: a throwaway single-node test cluster."
MUNGE_SOCKET=/run/munge/munge.socket.2
NODE=$(hostname -s)
export SLURM_CONF=$CONF

LOG=$DIR/log
RUN=$DIR/run
STATE=$DIR/state

say() { echo "local_cluster: $*"; }
die() {
    echo "local_cluster: error: $*" >&2
    exit 1
}
# Client commands get a hard time limit on top of Slurm's own MessageTimeout: nothing here hangs.
q() { timeout 15 "$@"; }

if ! [[ $CRED_EXPIRE =~ ^[0-9]+$ ]] || ((CRED_EXPIRE < 5)); then
    die "SLURM_LOCAL_CRED_EXPIRE=$CRED_EXPIRE: Slurm needs at least 5 (below that it silently uses 120)"
fi

need_root() {
    [[ $(id -u) == 0 ]] || die "'$1' needs root (it starts munged, slurmctld and slurmd): run it as root, e.g. sudo bash $0 $1"
}

installed() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
    done
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null
}

cmd_install() {
    if installed; then
        say "Slurm and munge are already installed ($(slurmctld -V 2>/dev/null || echo '?'))"
        return 0
    fi
    if [[ $(id -u) != 0 ]]; then
        die "Slurm is not installed and this is not root: run
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${PACKAGES[*]}
(or: sudo bash $0 install)"
    fi
    command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} (Slurm + munge) by hand"
    local t0=$SECONDS apt=(apt-get -q -y -o Dpkg::Use-Pty=0 --no-install-recommends)
    say "installing ${PACKAGES[*]} (apt-get)"
    # A fresh machine may have no package lists yet: update only when the packages are unknown.
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${PACKAGES[@]}"; then
        say "apt-get install failed; running apt-get update and trying again"
        timeout 600 apt-get -q update
        DEBIAN_FRONTEND=noninteractive timeout 600 "${apt[@]}" install "${PACKAGES[@]}"
    fi
    installed || die "apt-get ran but ${PACKAGES[*]} are still not all installed"
    say "installed $(slurmctld -V) in $((SECONDS - t0)) s"
}

pid_alive() { # pid_alive FILE -> 0 when FILE names a live process of that daemon (FILE=NAME.pid)
    local pid name
    name=$(basename "$1" .pid)
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    # The command name too: a stale pid file may name a pid that now belongs to another process.
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}

node_state() { # the node's state as sinfo prints it (idle, mixed, allocated, down*, ...), or nothing
    q sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1 | tr -d ' ' || true
}

node_usable() {
    case $(node_state) in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
    esac
}

log_tails() {
    local f
    for f in "$LOG/slurmctld.log" "$LOG/slurmd.log" /var/log/munge/munged.log; do
        [[ -f $f ]] || continue
        echo "----- last lines of $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

munge_works() { timeout 10 munge -n --socket="$MUNGE_SOCKET" 2>/dev/null | timeout 10 unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; }

start_munge() {
    if munge_works; then
        say "munged already answers on $MUNGE_SOCKET; using it"
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        install -d -o munge -g munge -m 0700 /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge
    install -d -o munge -g munge -m 0711 /var/lib/munge
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    say "starting munged"
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid --log-file=/var/log/munge/munged.log
    local i
    for ((i = 0; i < 50; i++)); do
        munge_works && break
        sleep 0.2
    done
    [[ -s /run/munge/munged.pid ]] && cp /run/munge/munged.pid "$RUN/munged.pid" # ours to stop
    munge_works || {
        log_tails
        stop_pids munged="$RUN/munged.pid"
        die "munged did not come up (log: /var/log/munge/munged.log)"
    }
}

next_first_job_id() {
    # Ids from the clock: 10 per second, wrapping every ~58 days below Slurm's MaxJobId
    # (67043328); never below the last id the previous cluster handed out.
    local base floor=0 first
    base=$(($(date +%s) % 5000000 * 10 + 1))
    [[ -s $DIR/last_job_id ]] && floor=$(<"$DIR/last_job_id")
    [[ $floor =~ ^[0-9]+$ ]] || floor=0
    first=$((base > floor ? base : floor + 1))
    ((first < 60000000)) || first=$base
    echo "$first"
}

write_conf() {
    local cpus mem_mb first_id
    cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
    mem_mb=${SLURM_LOCAL_MEM_MB:-$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)}
    first_id=$(next_first_job_id)
    if [[ -e $CONF ]] && ! grep -qxF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this script; not overwriting it.
Set SLURM_CONF=/some/other/slurm.conf (and export it to the shell that submits jobs) or move it away."
    fi
    mkdir -p "$(dirname "$CONF")"
    cat >"$CONF.tmp" <<EOF
$MARKER
# Regenerated on every start; state in $STATE, logs in $LOG.
ClusterName=hrnetseglocal
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
# cred_expire: job step credential lifetime, and how long a requeued job is held (BeginTime)
# before it may start again (Slurm's default: 120 s).
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=$CRED_EXPIRE
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (there is no accounting, no sacct).
MinJobAge=3600
FirstJobId=$first_id
JobRequeue=1
KillWait=$KILL_WAIT
InactiveLimit=0
Waittime=0
# Start jobs without waiting for the periodic scheduler passes (defaults: 60 s main, 30 s backfill).
SchedulerType=sched/backfill
${SCHED_PARAMS:+SchedulerParameters=$SCHED_PARAMS}
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    say "wrote $CONF (node $NODE: $cpus CPUs, $mem_mb MB; partition $PARTITION; FirstJobId=$first_id)"
}

all_up() { pid_alive "$RUN/slurmctld.pid" && pid_alive "$RUN/slurmd.pid" && munge_works && node_usable; }

cmd_start() {
    need_root start
    installed || die "Slurm is not installed: run bash $0 install (as root)"
    if all_up; then
        say "already up: node $NODE is $(node_state) (logs: $LOG)"
        return 0
    fi
    if pid_alive "$RUN/slurmctld.pid" || pid_alive "$RUN/slurmd.pid"; then
        say "partly running; stopping it first"
        cmd_stop
    fi
    local t0 f
    t0=$(date +%s.%N)
    mkdir -p "$LOG" "$RUN"
    for f in slurmctld slurmd; do # this start's logs, and the previous start's beside them
        [[ -f $LOG/$f.log ]] && mv -f "$LOG/$f.log" "$LOG/$f.previous.log"
    done
    # A fresh controller state on every start: no jobs or node states from an earlier cluster.
    rm -rf "$STATE"
    mkdir -p "$STATE/slurmctld" "$STATE/slurmd"
    chmod 0755 "$DIR" "$STATE"
    write_conf
    start_munge
    # -c: no state recovery (a fresh cluster). Both daemonize and write their pid files.
    slurmctld -f "$CONF" -c || {
        log_tails
        die "slurmctld failed to start (log: $LOG/slurmctld.log)"
    }
    slurmd -f "$CONF" -N "$NODE" || {
        log_tails
        die "slurmd failed to start (log: $LOG/slurmd.log)"
    }
    local deadline=$((SECONDS + START_TIMEOUT))
    until [[ $(node_state) == idle ]] || ((SECONDS >= deadline)); do
        sleep 0.2
    done
    if [[ $(node_state) != idle ]]; then
        echo "local_cluster: node $NODE state after ${START_TIMEOUT} s: '$(node_state)'" >&2
        q sinfo >&2 || true
        log_tails
        die "the node did not become idle within ${START_TIMEOUT} s (logs: $LOG)"
    fi
    say "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s: node $NODE idle"
    say "logs: $LOG/slurmctld.log $LOG/slurmd.log /var/log/munge/munged.log; conf: $CONF"
}

stop_pids() { # stop_pids NAME=PIDFILE...: SIGTERM to all, wait, SIGKILL after STOP_TIMEOUT
    local arg name file pid i
    local -A pids=()
    for arg in "$@"; do
        name=${arg%%=*} file=${arg#*=}
        if pid_alive "$file"; then
            pids[$name]=$(<"$file")
            kill -TERM "${pids[$name]}" 2>/dev/null || true
        fi
        rm -f "$file"
    done
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        for name in "${!pids[@]}"; do
            kill -0 "${pids[$name]}" 2>/dev/null || {
                say "stopped $name"
                unset "pids[$name]"
            }
        done
        ((${#pids[@]})) || return 0
        sleep 0.1
    done
    for name in "${!pids[@]}"; do
        say "$name (pid ${pids[$name]}) still running after ${STOP_TIMEOUT} s: SIGKILL"
        kill -KILL "${pids[$name]}" 2>/dev/null || true
    done
    sleep 0.5
}

cmd_stop() {
    local ids last deadline
    if ! pid_alive "$RUN/slurmctld.pid" && ! pid_alive "$RUN/slurmd.pid" && ! pid_alive "$RUN/munged.pid"; then
        say "not running"
        return 0
    fi
    need_root stop
    if pid_alive "$RUN/slurmctld.pid"; then
        # Remember the highest id handed out, so the next cluster never reuses it.
        ids=$(q scontrol -o show job 2>/dev/null | grep -o '^JobId=[0-9]*' | cut -d= -f2 || true)
        last=$(echo "$ids" | sort -n | tail -n1)
        [[ -n $last ]] && echo "$last" >"$DIR/last_job_id"
        # Jobs first (SIGTERM, SIGKILL after KillWait), while slurmd can still deliver signals.
        if [[ -n $(q squeue -h -o %i 2>/dev/null || true) ]] && pid_alive "$RUN/slurmd.pid"; then
            say "cancelling running and pending jobs"
            q scancel --partition="$PARTITION" 2>/dev/null || true
            deadline=$((SECONDS + KILL_WAIT + 15))
            until [[ -z $(q squeue -h -t running,completing,pending -o %i 2>/dev/null || true) ]] ||
                ((SECONDS >= deadline)); do
                sleep 0.5
            done
        fi
    fi
    stop_pids slurmd="$RUN/slurmd.pid" slurmctld="$RUN/slurmctld.pid"
    # munged only when this script started it (a munged that was already running stays).
    if pid_alive "$RUN/munged.pid"; then
        stop_pids munged="$RUN/munged.pid"
        rm -f /run/munge/munged.pid
    fi
    rm -f "$RUN/munged.pid"
    say "stopped (logs kept in $LOG)"
}

cmd_status() {
    if ! node_usable; then
        echo "local_cluster: not up (node $NODE: '$(node_state)'; conf: $CONF)" >&2
        q sinfo 2>&1 | sed 's/^/  /' >&2 || true
        return 1
    fi
    q sinfo
    q squeue
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart)
    cmd_stop
    cmd_start
    ;;
status) cmd_status ;;
*)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
