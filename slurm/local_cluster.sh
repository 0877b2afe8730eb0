#!/usr/bin/env bash
# A real Slurm cluster on this machine, for integration tests (`make test-slurm`).
# Debian/Ubuntu packages (Slurm 22.05 on bookworm), no systemd needed, run as root.
#
#   slurm/local_cluster.sh install            apt-get install Slurm, munge, slurmdbd, MariaDB (when missing)
#   slurm/local_cluster.sh start [--nodes N] [--no-accounting]
#                                             start munged, MariaDB + slurmdbd, slurmctld, the slurmd(s)
#   slurm/local_cluster.sh stop               end every job, process, namespace and link the cluster made
#   slurm/local_cluster.sh status             nodes and their states, jobs; exit 0 when every node is up
#   slurm/local_cluster.sh restart [...]      stop, then start
#   slurm/local_cluster.sh verify-clean       exit 0 only when nothing the last cluster made is left
#   slurm/local_cluster.sh kill-node NODE     node loss: NODE's link goes down, all its processes die
#   slurm/local_cluster.sh revive-node NODE   NODE's link up again, a new slurmd; wait until it is idle
#   slurm/local_cluster.sh shape RATE|off     limit each node's link to RATE (tc tbf, e.g. 1gbit)
#
# Without --nodes: one node, named after this machine, on 127.0.0.1 (no namespaces).
# With --nodes N: nodes node1..nodeN, each slurmd in its own network namespace (a veth pair to a
# bridge on a private /24 that the script creates; traffic stays between those namespaces), its
# own UTS hostname and its own mount namespace with a private /etc/hosts bind-mounted over the
# machine's (which is never edited). The nodes share the filesystem (checkout, data, work dirs)
# and munge's socket, as the nodes of a cluster share a filesystem. slurmctld and slurmdbd run in
# the machine's namespaces, reachable from the nodes on the bridge's address.
#
# Accounting (default): a private MariaDB instance (its own data dir, socket and port) and
# slurmdbd, so sacct answers as on a real cluster; --no-accounting leaves them out.
#
# Every start is a fresh cluster: state and database are wiped, and FirstJobId comes from the
# clock (and the last id seen), so job ids never repeat across starts. Everything a start makes
# is recorded under $SLURM_LOCAL_DIR/run (pid files, namespaces, links); stop removes exactly
# that, by recorded pid and name, also after a failed start (a failed start cleans up itself).
#
# Environment (defaults in brackets):
#   SLURM_LOCAL_DIR        [/var/tmp/hrnet_seg_slurm] logs (log/), records (run/), state (state/)
#   SLURM_CONF             [/etc/slurm/slurm.conf] where slurm.conf (and slurmdbd.conf beside it)
#                          is written: Slurm's client commands read it there. A file there that
#                          this script did not write is never overwritten.
#   SLURM_LOCAL_PARTITION  [debug] name of the (default) partition
#   SLURM_LOCAL_CPUS       [$(nproc)] CPUs of each node (namespaced nodes share the machine's cores)
#   SLURM_LOCAL_MEM_MB     [90 % of MemTotal / nodes] RealMemory of each node, in MB
#   SLURM_LOCAL_SUBNET     [10.77.88] the private /24 of --nodes (bridge .1, nodeI .(10+I))
#   SLURM_LOCAL_DB_PORT    [3307] MariaDB's TCP port on 127.0.0.1
#   SLURM_LOCAL_CRED_EXPIRE [10] AuthInfo cred_expire: also how long a requeued job waits
#                          (Reason=BeginTime) before it can run again; Slurm's default is 120 s
#   SLURM_LOCAL_KILL_WAIT  [30] KillWait: seconds between SIGTERM and SIGKILL when a job ends
#                          (scancel, time limit, requeue)
#   SLURM_LOCAL_SLURMD_TIMEOUT [90] SlurmdTimeout: a node that does not answer this long is DOWN
#   SLURM_LOCAL_SCHED_PARAMS [sched_interval=1,bf_interval=1,batch_sched_delay=0,sched_min_interval=0]
#                          SchedulerParameters (empty: Slurm's defaults, jobs start seconds later)
#   SLURM_LOCAL_TIMEOUT    [90] seconds to wait for the nodes to become idle on start
#   SLURM_LOCAL_STOP_TIMEOUT [20] seconds to wait for a process to exit on stop before SIGKILL
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/tmp/hrnet_seg_slurm}
CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
DBD_CONF=$(dirname "$CONF")/slurmdbd.conf
PARTITION=${SLURM_LOCAL_PARTITION:-debug}
SUBNET=${SLURM_LOCAL_SUBNET:-10.77.88}
REQUESTED_SUBNET=$SUBNET
DB_PORT=${SLURM_LOCAL_DB_PORT:-3307}
CRED_EXPIRE=${SLURM_LOCAL_CRED_EXPIRE:-10}
KILL_WAIT=${SLURM_LOCAL_KILL_WAIT:-30}
SLURMD_TIMEOUT=${SLURM_LOCAL_SLURMD_TIMEOUT:-90}
SCHED_PARAMS=${SLURM_LOCAL_SCHED_PARAMS-sched_interval=1,bf_interval=1,batch_sched_delay=0,sched_min_interval=0}
START_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-90}
STOP_TIMEOUT=${SLURM_LOCAL_STOP_TIMEOUT:-20}
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server iproute2)
MARKER="# Written by hrnet_seg slurm/local_cluster.sh: a throwaway test cluster."
OLD_MARKER="# Written by hrnet_seg slurm/local_cluster.sh: a throwaway single-node test cluster."
MUNGE_SOCKET=/run/munge/munge.socket.2
CLUSTER_NAME=hrnetseglocal
HOST=$(hostname -s)
# Names of what --nodes makes (all recorded in $RUN as they are made).
NETNS_PREFIX=hrnetseg-
BRIDGE=hsbr0
export SLURM_CONF=$CONF

LOG=$DIR/log
RUN=$DIR/run
STATE=$DIR/state
CLUSTER_ENV=$RUN/cluster.env # NODES, ACCOUNTING, SUBNET, FIRST_JOB_ID of the running cluster
PIDS_LOG=$RUN/pids.log       # "NAME PID STARTTIME" of every daemon started (kept for verify-clean)
NETNS_LIST=$RUN/netns        # namespaces made, one per line
NETNS_INODES=$RUN/netns.inodes
LINKS_LIST=$RUN/links        # links made in the machine's namespace, one per line
DB_RUN=$RUN/mariadb          # MariaDB's socket and pid file (written by the mysql user)

say() { echo "local_cluster: $*"; }
die() {
    echo "local_cluster: error: $*" >&2
    exit 1
}
# Client commands get a hard time limit on top of Slurm's own MessageTimeout: nothing here hangs.
q() { timeout 15 "$@"; }

for var in CRED_EXPIRE KILL_WAIT SLURMD_TIMEOUT START_TIMEOUT STOP_TIMEOUT DB_PORT; do
    [[ ${!var} =~ ^[0-9]+$ ]] || die "$var=${!var}: expected a whole number"
done
((CRED_EXPIRE >= 5)) || die "SLURM_LOCAL_CRED_EXPIRE=$CRED_EXPIRE: Slurm needs at least 5 (below that it silently uses 120)"
[[ $SUBNET =~ ^(10|192\.168|172\.(1[6-9]|2[0-9]|3[01]))(\.[0-9]{1,3}){1,2}$ && $SUBNET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "SLURM_LOCAL_SUBNET=$SUBNET: expected the first three numbers of a private /24, e.g. 10.77.88"

need_root() {
    [[ $(id -u) == 0 ]] || die "'$1' needs root (daemons, namespaces, links): run it as root, e.g. sudo bash $0 $1"
}

installed() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
    done
    for p in slurmctld slurmd slurmdbd sbatch sacct sacctmgr munged mariadbd mariadb-install-db mariadb ip tc unshare nsenter; do
        command -v "$p" >/dev/null || return 1
    done
}

cmd_install() {
    if installed; then
        say "Slurm, slurmdbd, munge and MariaDB are already installed ($(slurmctld -V 2>/dev/null || echo '?'))"
        return 0
    fi
    if [[ $(id -u) != 0 ]]; then
        die "Slurm is not installed and this is not root: run
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${PACKAGES[*]}
(or: sudo bash $0 install)"
    fi
    command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} (Slurm, munge, MariaDB) by hand"
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

# -- processes, by recorded pid ------------------------------------------------------------

proc_start_time() { # the kernel's start time of PID (tells a pid from a later reuse of it)
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) } # the fields after the command name, which may hold spaces
    echo "$stat" | cut -d' ' -f20
}

pid_alive() { # pid_alive FILE [COMM] -> 0 when FILE names a live process of that daemon
    local pid name=${2:-}
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ -n $name ]] || name=$(basename "$1" .pid)
    name=${name%%-*} # slurmd-node1.pid -> slurmd
    # The command name too: a stale pid file may name a pid that now belongs to another process.
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}

record_pid() { # record_pid NAME PIDFILE: remember a started daemon for stop and verify-clean
    local pid start
    pid=$(<"$2")
    start=$(proc_start_time "$pid") || return 0
    echo "$1 $pid $start" >>"$PIDS_LOG"
}

wait_for_file() { # wait_for_file PATH SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -s $1 || -S $1 ]] && return 0
        sleep 0.1
    done
    return 1
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

kill_listed() { # kill_listed WHAT PID...: SIGTERM, wait up to STOP_TIMEOUT, SIGKILL the rest
    local what=$1 pid i left
    shift
    (($#)) || return 0
    say "ending $# leftover process(es) of $what"
    kill -TERM "$@" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        left=()
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
        ((${#left[@]})) || return 0
        sleep 0.1
    done
    kill -KILL "${left[@]}" 2>/dev/null || true
    sleep 0.3
}

# Processes of this cluster's jobs in the machine's namespaces (the single-node mode): job
# steps of our job ids and the processes that carry our cluster's name in their environment.
job_pids() {
    local first=${FIRST_JOB_ID:-} p comm id env
    [[ -n $first ]] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        ((p == $$)) && continue
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        if [[ $comm == slurmstepd ]]; then
            id=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | sed -n 's/^slurmstepd: \[\([0-9]*\).*/\1/p')
            [[ -n $id ]] && ((id >= first)) && echo "$p"
            continue
        fi
        env=$(tr '\0' '\n' 2>/dev/null <"/proc/$p/environ") || continue
        grep -qx "SLURM_CLUSTER_NAME=$CLUSTER_NAME" <<<"$env" || continue
        id=$(sed -n 's/^SLURM_JOB_ID=\([0-9]*\)$/\1/p' <<<"$env" | head -n1)
        [[ -n $id ]] && ((id >= first)) && echo "$p"
    done
    return 0
}

# -- the cluster's records ------------------------------------------------------------------

load_env() {
    NODES=0 ACCOUNTING=0 FIRST_JOB_ID=
    # shellcheck disable=SC1090
    [[ -s $CLUSTER_ENV ]] && source "$CLUSTER_ENV"
    return 0
}

node_names() { # the Slurm node names of the recorded (or requested) cluster
    local i
    if ((NODES == 0)); then
        echo "$HOST"
    else
        for ((i = 1; i <= NODES; i++)); do echo "node$i"; done
    fi
}

node_index() { # node_index NODE -> I of nodeI, when it is a node of the running --nodes cluster
    [[ $1 =~ ^node([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= NODES)) || return 1
    echo "${BASH_REMATCH[1]}"
}

node_addr() { echo "$SUBNET.$((10 + $1))"; }
ctl_addr() { if ((NODES == 0)); then echo 127.0.0.1; else echo "$SUBNET.1"; fi; }

node_state() { # the node's state as sinfo prints it (idle, mixed, allocated, down*, ...), or nothing
    q sinfo -h -n "$1" -N -o %T 2>/dev/null | head -n1 | tr -d ' ' || true
}

node_usable() {
    case $(node_state "$1") in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
    esac
}

log_tails() {
    local f
    for f in "$LOG"/slurmctld.log "$LOG"/slurmd*.log "$LOG"/slurmdbd.log "$LOG"/mariadb.log \
        /var/log/munge/munged.log; do
        [[ -f $f ]] || continue
        echo "----- last lines of $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

# -- munge ----------------------------------------------------------------------------------

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
    if [[ -s /run/munge/munged.pid ]]; then # ours to stop
        cp /run/munge/munged.pid "$RUN/munged.pid"
        record_pid munged "$RUN/munged.pid"
    fi
    munge_works || die "munged did not come up (log: /var/log/munge/munged.log)"
}

# -- network namespaces (--nodes) -----------------------------------------------------------

subnet_in_use() { # some address or route of the machine already lies in $SUBNET.0/24
    ip -4 -o addr show | awk '{print $4}' | grep -q "^${SUBNET//./\\.}\." && return 0
    ip -4 route show | awk '{print $1}' | grep -q "^${SUBNET//./\\.}\." && return 0
    return 1
}

make_network() {
    local i ns link
    if subnet_in_use; then
        die "$SUBNET.0/24 is already in use on this machine (ip addr / ip route): pick another private
/24 with SLURM_LOCAL_SUBNET=10.x.y (nothing was changed)"
    fi
    ip link show "$BRIDGE" >/dev/null 2>&1 && die "a link named $BRIDGE exists and is not this cluster's (not in $LINKS_LIST)"
    ip link add "$BRIDGE" type bridge
    echo "$BRIDGE" >>"$LINKS_LIST"
    ip addr add "$(ctl_addr)/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    for ((i = 1; i <= NODES; i++)); do
        ns=${NETNS_PREFIX}node$i link=hsn$i
        [[ -e /run/netns/$ns ]] && die "network namespace $ns exists and is not this cluster's"
        ip netns add "$ns"
        echo "$ns" >>"$NETNS_LIST"
        stat -L -c %i "/run/netns/$ns" >>"$NETNS_INODES"
        ip link add "$link" type veth peer name "${link}p"
        echo "$link" >>"$LINKS_LIST"
        ip link set "${link}p" netns "$ns"
        ip link set "$link" master "$BRIDGE" up
        ip -n "$ns" link set "${link}p" name eth0
        ip -n "$ns" addr add "$(node_addr "$i")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
    done
    say "network: bridge $BRIDGE $(ctl_addr)/24; nodes $(node_addr 1)..$(node_addr "$NODES") in namespaces ${NETNS_PREFIX}node1..$NODES"
}

write_hosts() { # the /etc/hosts every node sees (bind-mounted in its own mount namespace)
    local i
    {
        echo "# Written by hrnet_seg slurm/local_cluster.sh for the nodes of the test cluster."
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        echo "$(ctl_addr) $HOST"
        for ((i = 1; i <= NODES; i++)); do echo "$(node_addr "$i") node$i"; done
    } >"$STATE/hosts"
}

start_slurmd() { # start_slurmd NODE
    local node=$1 i
    if ((NODES == 0)); then
        slurmd -f "$CONF" -N "$node" || return 1
    else
        i=$(node_index "$node")
        mkdir -p "$STATE/slurmd-$node"
        # nsenter and unshare exec (no fork): slurmd daemonizes inside the node's network, UTS
        # and mount namespaces, and its pid file is the record. nsenter, not `ip netns exec`:
        # that remounts /sys, hiding /sys/fs/cgroup, which slurmd needs.
        nsenter --net="/run/netns/${NETNS_PREFIX}$node" unshare --uts --mount --propagation private -- \
            sh -c 'hostname "$1" && mount --bind "$2" /etc/hosts && exec slurmd -f "$3" -N "$1"' \
            slurmd "$node" "$STATE/hosts" "$CONF" || return 1
    fi
    wait_for_file "$RUN/slurmd-$node.pid" 10 && record_pid "slurmd-$node" "$RUN/slurmd-$node.pid"
}

# -- accounting: MariaDB + slurmdbd ---------------------------------------------------------

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

start_accounting() {
    local db=$STATE/mariadb pass
    port_in_use "$DB_PORT" && die "port $DB_PORT (MariaDB) is in use: set SLURM_LOCAL_DB_PORT to a free port"
    # mariadbd runs as the mysql user: its data, socket, pid file and log where it may write.
    install -d -o mysql -g mysql -m 0750 "$db"
    install -d -o mysql -g mysql -m 0755 "$DB_RUN"
    install -o mysql -g mysql -m 0640 /dev/null "$LOG/mariadb.log"
    say "starting MariaDB (data $db, 127.0.0.1:$DB_PORT) and slurmdbd"
    mariadb-install-db --no-defaults --datadir="$db" --user=mysql --auth-root-authentication-method=socket \
        --skip-test-db >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (log: $LOG/mariadb-install.log)"
    # setsid -f: detached from this shell's session, so a Ctrl-C in make does not reach it.
    setsid -f mariadbd --no-defaults --datadir="$db" --socket="$DB_RUN/mariadb.sock" \
        --pid-file="$DB_RUN/mariadbd.pid" --bind-address=127.0.0.1 --port="$DB_PORT" --user=mysql \
        --log-error="$LOG/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=32M \
        --innodb-log-file-size=16M >/dev/null 2>&1
    wait_for_file "$DB_RUN/mariadbd.pid" 30 && record_pid mariadbd "$DB_RUN/mariadbd.pid"
    wait_for_file "$DB_RUN/mariadb.sock" 30 || die "MariaDB did not come up (log: $LOG/mariadb.log)"
    pass=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    mariadb --no-defaults --socket="$DB_RUN/mariadb.sock" -u root -e \
        "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || die "could not create MariaDB's slurm user"
    write_dbd_conf "$pass"
    slurmdbd || die "slurmdbd failed to start (log: $LOG/slurmdbd.log)"
    wait_for_file "$RUN/slurmdbd.pid" 10 && record_pid slurmdbd "$RUN/slurmdbd.pid"
    local deadline=$((SECONDS + 60))
    until q sacctmgr -n list cluster >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "slurmdbd does not answer after 60 s (log: $LOG/slurmdbd.log)"
        pid_alive "$RUN/slurmdbd.pid" || die "slurmdbd exited (log: $LOG/slurmdbd.log)"
        sleep 0.5
    done
    q sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
}

check_ours() { # check_ours FILE: refuse to overwrite a config this script did not write
    if [[ -e $1 ]] && ! grep -qxF -e "$MARKER" -e "$OLD_MARKER" "$1"; then
        die "$1 exists and was not written by this script; not overwriting it.
Set SLURM_CONF=/some/other/slurm.conf (and export it to the shell that submits jobs) or move it away."
    fi
}

write_dbd_conf() {
    check_ours "$DBD_CONF"
    (
        umask 077 # slurmdbd refuses a config others can read (it holds the password)
        cat >"$DBD_CONF.tmp" <<EOF
$MARKER
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$HOST
DbdAddr=$(ctl_addr)
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$1
StorageLoc=slurm_acct_db
EOF
    )
    mv "$DBD_CONF.tmp" "$DBD_CONF"
}

# -- slurm.conf -----------------------------------------------------------------------------

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
    local cpus mem_mb nodes_line node i n=$((NODES > 0 ? NODES : 1))
    cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
    mem_mb=${SLURM_LOCAL_MEM_MB:-$(awk -v n="$n" '/^MemTotal:/ {print int($2 / 1024 * 0.9 / n)}' /proc/meminfo)}
    check_ours "$CONF"
    mkdir -p "$(dirname "$CONF")"
    if ((NODES == 0)); then
        nodes_line="NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN"
    else
        nodes_line=""
        for ((i = 1; i <= NODES; i++)); do
            nodes_line+="NodeName=node$i NodeHostname=node$i NodeAddr=$(node_addr "$i") CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN"$'\n'
        done
    fi
    cat >"$CONF.tmp" <<EOF
$MARKER
# Regenerated on every start; state in $STATE, logs in $LOG.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$HOST($(ctl_addr))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
# cred_expire: job step credential lifetime, and how long a requeued job is held (BeginTime)
# before it may start again (Slurm's default: 120 s).
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=$CRED_EXPIRE
StateSaveLocation=$STATE/slurmctld
# %n: one spool dir, pid file and log per node (several slurmd on one machine).
SlurmdSpoolDir=$STATE/slurmd-%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
$(if ((ACCOUNTING)); then
        echo "AccountingStorageType=accounting_storage/slurmdbd"
        echo "AccountingStorageHost=$(ctl_addr)"
    else
        echo "AccountingStorageType=accounting_storage/none"
    fi)
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (also where sacct is off).
MinJobAge=3600
FirstJobId=$FIRST_JOB_ID
JobRequeue=1
KillWait=$KILL_WAIT
# A node that does not answer this long is DOWN (its jobs NODE_FAIL); pinged every third of
# it. Longer than the tests' collective timeout (20 s): a job on a lost node ends by the
# project's own timeout first (its surviving rank ends the job), as on clusters (300 s).
SlurmdTimeout=$SLURMD_TIMEOUT
InactiveLimit=0
Waittime=0
# Start jobs without waiting for the periodic scheduler passes (defaults: 60 s main, 30 s backfill).
SchedulerType=sched/backfill
${SCHED_PARAMS:+SchedulerParameters=$SCHED_PARAMS}
${nodes_line%$'\n'}
PartitionName=$PARTITION Nodes=$(node_names | paste -sd, -) Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    say "wrote $CONF ($n node(s): $cpus CPUs, $mem_mb MB each; partition $PARTITION; FirstJobId=$FIRST_JOB_ID)"
}

# -- commands -------------------------------------------------------------------------------

daemons_alive() { # every recorded daemon of the running cluster is alive
    local node
    pid_alive "$RUN/slurmctld.pid" || return 1
    ((ACCOUNTING)) && { pid_alive "$RUN/slurmdbd.pid" && pid_alive "$DB_RUN/mariadbd.pid" || return 1; }
    for node in $(node_names); do pid_alive "$RUN/slurmd-$node.pid" || return 1; done
}

all_up() {
    local node
    daemons_alive && munge_works || return 1
    for node in $(node_names); do node_usable "$node" || return 1; done
}

anything_recorded() {
    local f
    for f in "$RUN"/*.pid "$DB_RUN"/*.pid; do pid_alive "$f" && return 0; done
    [[ -s $NETNS_LIST || -s $LINKS_LIST ]]
}

wait_idle() { # wait_idle NODE...: until every node is idle, or fail with the logs
    local deadline=$((SECONDS + START_TIMEOUT)) node pending
    while :; do
        pending=()
        for node in "$@"; do [[ $(node_state "$node") == idle ]] || pending+=("$node"); done
        ((${#pending[@]})) || return 0
        if ((SECONDS >= deadline)); then
            for node in "${pending[@]}"; do echo "local_cluster: node $node: '$(node_state "$node")'" >&2; done
            q sinfo >&2 || true
            log_tails
            return 1
        fi
        sleep 0.2
    done
}

cmd_start() {
    local want_nodes=0 want_accounting=1
    while (($#)); do
        case $1 in
        --nodes)
            [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || die "--nodes needs a number from 1 to 99, got '${2:-}'"
            want_nodes=$2
            shift 2
            ;;
        --nodes=*)
            set -- --nodes "${1#--nodes=}" "${@:2}"
            ;;
        --no-accounting)
            want_accounting=0
            shift
            ;;
        *) die "start: unknown option '$1' (expected --nodes N, --no-accounting)" ;;
        esac
    done
    need_root start
    installed || die "Slurm, slurmdbd, MariaDB or iproute2 are not installed: run bash $0 install (as root)"
    load_env
    if ((NODES == want_nodes && ACCOUNTING == want_accounting)) && all_up; then
        say "already up: $(node_names | paste -sd' ' -) (logs: $LOG)"
        return 0
    fi
    if anything_recorded; then
        say "an earlier cluster is (partly) running; stopping it first"
        cmd_stop
    fi
    # The requested cluster (load_env read the recorded one's values).
    NODES=$want_nodes ACCOUNTING=$want_accounting SUBNET=$REQUESTED_SUBNET
    local t0 f
    t0=$(date +%s.%N)
    mkdir -p "$LOG" "$RUN"
    for f in "$LOG"/*.log; do # this start's logs, and the previous start's beside them
        [[ -f $f && $f != *.previous.log ]] && mv -f "$f" "${f%.log}.previous.log"
    done
    # A fresh state on every start: no jobs, node states or accounting of an earlier cluster.
    rm -rf "$STATE"
    rm -f "$PIDS_LOG" "$NETNS_LIST" "$NETNS_INODES" "$LINKS_LIST"
    mkdir -p "$STATE/slurmctld"
    chmod 0755 "$DIR" "$STATE"
    FIRST_JOB_ID=$(next_first_job_id)
    printf 'NODES=%s\nACCOUNTING=%s\nSUBNET=%s\nFIRST_JOB_ID=%s\n' "$NODES" "$ACCOUNTING" "$SUBNET" \
        "$FIRST_JOB_ID" >"$CLUSTER_ENV"
    echo "$FIRST_JOB_ID" >"$RUN/first_job_id" # kept after stop, for verify-clean
    # From here on, a failure removes whatever this start made (logs stay).
    trap 'rc=$?; if ((rc)); then log_tails; say "start failed; removing what it made"; cmd_stop >&2 || true; fi' EXIT
    write_conf
    start_munge
    if ((NODES > 0)); then
        make_network
        write_hosts
    else
        mkdir -p "$STATE/slurmd-$HOST"
    fi
    ((ACCOUNTING)) && start_accounting
    # -c: no state recovery (a fresh cluster). It daemonizes and writes its pid file.
    slurmctld -f "$CONF" -c || die "slurmctld failed to start (log: $LOG/slurmctld.log)"
    wait_for_file "$RUN/slurmctld.pid" 10 && record_pid slurmctld "$RUN/slurmctld.pid"
    local node
    for node in $(node_names); do
        start_slurmd "$node" || die "slurmd of $node failed to start (log: $LOG/slurmd-$node.log)"
    done
    # shellcheck disable=SC2046
    wait_idle $(node_names) || die "the node(s) did not become idle within ${START_TIMEOUT} s (logs: $LOG)"
    trap - EXIT
    say "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s:" \
        "$(node_names | paste -sd' ' -) idle; accounting $( ((ACCOUNTING)) && echo on || echo off)"
    say "logs: $LOG; conf: $CONF"
}

cmd_stop() {
    local ids last deadline node ns pids link
    load_env
    if ! anything_recorded && [[ ! -s $NETNS_LIST && ! -s $LINKS_LIST ]]; then
        say "not running"
        return 0
    fi
    need_root stop
    if pid_alive "$RUN/slurmctld.pid"; then
        # Remember the highest id handed out, so the next cluster never reuses it.
        ids=$(q scontrol -o show job 2>/dev/null | grep -o '^JobId=[0-9]*' | cut -d= -f2 || true)
        last=$(echo "$ids" | sort -n | tail -n1)
        [[ -n $last ]] && echo "$last" >"$DIR/last_job_id"
        # Jobs first (SIGTERM, SIGKILL after KillWait), while the slurmd can still deliver signals.
        if [[ -n $(q squeue -h -o %i 2>/dev/null || true) ]]; then
            say "cancelling running and pending jobs"
            q scancel --partition="$PARTITION" 2>/dev/null || true
            deadline=$((SECONDS + KILL_WAIT + 15))
            until [[ -z $(q squeue -h -t running,completing,pending -o %i 2>/dev/null || true) ]] ||
                ((SECONDS >= deadline)); do
                sleep 0.5
            done
        fi
    fi
    for node in $(node_names); do stop_pids "slurmd-$node=$RUN/slurmd-$node.pid"; done
    # What the jobs left: every process in a node's namespace; in the single-node mode the
    # steps of this cluster's jobs.
    if [[ -s $NETNS_LIST ]]; then
        while read -r ns; do
            [[ -e /run/netns/$ns ]] || continue
            mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
            kill_listed "$ns" "${pids[@]}"
        done <"$NETNS_LIST"
    fi
    mapfile -t pids < <(job_pids)
    kill_listed "this cluster's jobs" "${pids[@]}"
    stop_pids slurmctld="$RUN/slurmctld.pid" slurmdbd="$RUN/slurmdbd.pid"
    stop_pids mariadbd="$DB_RUN/mariadbd.pid"
    # munged only when this script started it (a munged that was already running stays).
    if pid_alive "$RUN/munged.pid"; then
        stop_pids munged="$RUN/munged.pid"
        rm -f /run/munge/munged.pid
    fi
    rm -f "$RUN/munged.pid" "$DB_RUN/mariadb.sock"
    if [[ -s $NETNS_LIST ]]; then
        while read -r ns; do
            [[ -e /run/netns/$ns ]] && ip netns del "$ns"
        done <"$NETNS_LIST"
        say "removed namespaces $(paste -sd' ' "$NETNS_LIST")"
        rm -f "$NETNS_LIST"
    fi
    if [[ -s $LINKS_LIST ]]; then
        # The veths go with their namespace; the bridge (and any veth left) here.
        tac "$LINKS_LIST" | while read -r link; do
            ip link show "$link" >/dev/null 2>&1 && ip link del "$link"
        done
        say "removed links $(paste -sd' ' "$LINKS_LIST")"
        rm -f "$LINKS_LIST"
    fi
    rm -f "$CLUSTER_ENV"
    say "stopped (logs kept in $LOG)"
}

cmd_verify_clean() {
    # After stop: no daemon this cluster started, no process in its namespaces or of its jobs,
    # no namespace or link it made. Reads the records stop leaves (pids.log, netns.inodes).
    local problems=() name pid start ns link p inode
    if [[ -s $PIDS_LOG ]]; then
        while read -r name pid start; do
            [[ $(proc_start_time "$pid" 2>/dev/null) == "$start" ]] && problems+=("process $name (pid $pid) is still running")
        done <"$PIDS_LOG"
    fi
    while read -r ns _; do
        [[ $ns == "$NETNS_PREFIX"* ]] && problems+=("network namespace $ns still exists")
    done < <(ip netns list 2>/dev/null)
    for link in "$BRIDGE" $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^hsn[0-9]+$' || true); do
        ip link show "$link" >/dev/null 2>&1 && problems+=("link $link still exists")
    done
    if [[ -s $NETNS_INODES ]]; then
        local -A ours=()
        while read -r inode; do ours[$inode]=1; done <"$NETNS_INODES"
        for p in /proc/[0-9]*; do
            inode=$(stat -L -c %i "$p/ns/net" 2>/dev/null) || continue
            [[ -n ${ours[$inode]:-} ]] && problems+=("process ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)) runs in a node's namespace")
        done
    fi
    FIRST_JOB_ID=$(cat "$RUN/first_job_id" 2>/dev/null || true)
    for p in $(job_pids); do problems+=("process $p ($(cat "/proc/$p/comm" 2>/dev/null)) belongs to a job of this cluster"); done
    if ((${#problems[@]})); then
        printf 'local_cluster: not clean: %s\n' "${problems[@]}" >&2
        return 1
    fi
    say "clean: no process, namespace or link of the cluster is left"
}

cmd_status() {
    local node ok=0 i
    load_env
    if ! pid_alive "$RUN/slurmctld.pid"; then
        echo "local_cluster: not up (no slurmctld; conf: $CONF)" >&2
        return 1
    fi
    printf '%-8s %-12s %-15s %-9s %s\n' NODE STATE ADDRESS SLURMD REASON
    for node in $(node_names); do
        local addr=127.0.0.1 pid=- state reason
        if ((NODES > 0)); then
            i=$(node_index "$node")
            addr=$(node_addr "$i")
        fi
        pid_alive "$RUN/slurmd-$node.pid" && pid=$(<"$RUN/slurmd-$node.pid")
        state=$(node_state "$node")
        reason=$(q sinfo -h -N -n "$node" -o %E 2>/dev/null | head -n1 || true)
        [[ $reason == none ]] && reason=
        printf '%-8s %-12s %-15s %-9s %s\n' "$node" "${state:-?}" "$addr" "$pid" "$reason"
        node_usable "$node" || ok=1
    done
    if ((ACCOUNTING)); then
        if pid_alive "$RUN/slurmdbd.pid" && q sacct -n -X -o JobID -S now >/dev/null 2>&1; then
            echo "accounting: slurmdbd (pid $(<"$RUN/slurmdbd.pid")) + MariaDB (pid $(<"$DB_RUN/mariadbd.pid"), 127.0.0.1:$DB_PORT)"
        else
            echo "accounting: NOT answering (log: $LOG/slurmdbd.log)"
            ok=1
        fi
    else
        echo "accounting: off"
    fi
    [[ -s $RUN/shape ]] && echo "links shaped: $(<"$RUN/shape")"
    q squeue || ok=1
    return $ok
}

cmd_kill_node() { # a node lost: link down first (no FIN/RST reaches the others), then its processes
    local node=${1:-} i ns pids
    need_root kill-node
    load_env
    i=$(node_index "$node") || die "kill-node: '$node' is not a node of the running --nodes cluster ($(node_names | paste -sd' ' -))"
    ns=${NETNS_PREFIX}$node
    ip link set "hsn$i" down
    mapfile -t pids < <(ip netns pids "$ns")
    ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
    rm -f "$RUN/slurmd-$node.pid"
    say "$node lost: link hsn$i down, ${#pids[@]} process(es) killed (slurmd and job processes)"
}

cmd_revive_node() {
    local node=${1:-} i
    need_root revive-node
    load_env
    i=$(node_index "$node") || die "revive-node: '$node' is not a node of the running --nodes cluster"
    ip link set "hsn$i" up
    if ! pid_alive "$RUN/slurmd-$node.pid"; then
        start_slurmd "$node" || die "slurmd of $node failed to start (log: $LOG/slurmd-$node.log)"
    fi
    # A job that ended while the node was gone can leave it COMPLETING: slurmctld waits to
    # hear the job's end from the node, which the new slurmd cannot report (the job's
    # processes died with the old one). Seen in one of two runs of test (h) (2026-11-28),
    # still COMPLETING after 90 s. Clear it as an admin does after a node loss: DOWN, RESUME.
    local settle=$((SECONDS + 15))
    while [[ $(node_state "$node") != idle ]] && ((SECONDS < settle)); do sleep 0.5; done
    if [[ $(node_state "$node") == completing* ]]; then
        say "$node is still completing a job that ended while it was lost: DOWN, then RESUME"
        q scontrol update NodeName="$node" State=DOWN Reason="lost; revived by local_cluster.sh" || true
        q scontrol update NodeName="$node" State=RESUME || true
    fi
    wait_idle "$node" || die "$node did not become idle within ${START_TIMEOUT} s"
    say "$node is back: $(node_state "$node")"
}

cmd_shape() { # tbf on both ends of each node's veth: RATE into and out of every node
    local rate=${1:-} i ns
    need_root shape
    load_env
    ((NODES > 0)) || die "shape: only for a --nodes cluster (the single node has no link)"
    [[ -n $rate ]] || die "shape: give a rate (e.g. 1gbit, 100mbit) or 'off'"
    for ((i = 1; i <= NODES; i++)); do
        ns=${NETNS_PREFIX}node$i
        if [[ $rate == off ]]; then
            tc qdisc del dev "hsn$i" root 2>/dev/null || true
            ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
        else
            # burst: a few ms at the rate (at least rate/HZ); latency: the queue before drops.
            tc qdisc replace dev "hsn$i" root tbf rate "$rate" burst 512kb latency 50ms ||
                die "tc refused rate '$rate' (e.g. 1gbit, 100mbit)"
            ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "$rate" burst 512kb latency 50ms
        fi
    done
    if [[ $rate == off ]]; then
        rm -f "$RUN/shape"
        say "links unshaped"
    else
        echo "tbf rate $rate on each node's link, both directions" >"$RUN/shape"
        say "links shaped: $(<"$RUN/shape")"
    fi
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start "${@:2}" ;;
stop) cmd_stop ;;
restart)
    cmd_stop
    cmd_start "${@:2}"
    ;;
status) cmd_status ;;
verify-clean) cmd_verify_clean ;;
kill-node) cmd_kill_node "${2:-}" ;;
revive-node) cmd_revive_node "${2:-}" ;;
shape) cmd_shape "${2:-}" ;;
*)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
