# shellcheck shell=bash
# What the labs (scripts/lab, scripts/lab-ecmp) share: namespaces, nginx reals, dplbd in a namespace,
# and taking it all down. Sourced, not run. The caller sets ROOT, LAB (its folder), P (its namespace
# prefix) and EAL_PREFIX (dplbd's --file-prefix, followed by the director's name).
DPLB_BUILD=${DPLB_BUILD:-$ROOT/build}   # meson build root holding controlplane/dplbd and dplbctl
DPLBD=$DPLB_BUILD/controlplane/dplbd
DPLBCTL=$DPLB_BUILD/controlplane/dplbctl

say() { printf '%s\n' "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
ctl() { local lb=$1; shift; "$DPLBCTL" -s "$LAB/$lb.sock" "$@"; }

# Every process whose PID file lies under $LAB gets SIGTERM, at most 5 s, then SIGKILL.
stop_lab_processes() {
  [[ -d $LAB ]] || return 0
  local pidfile pid alive
  for pidfile in "$LAB"/*.pid "$LAB"/*/nginx.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    alive=0
    for pidfile in "$LAB"/*.pid "$LAB"/*/nginx.pid; do
      [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for pidfile in "$LAB"/*.pid "$LAB"/*/nginx.pid; do
    [[ -f $pidfile ]] && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
  done
}

# down_lab HOST...: the processes, the namespaces $P{HOST,sw}, dplbd's EAL files, $LAB.
down_lab() {
  stop_lab_processes
  local h
  for h in "$@" sw; do ip netns del "$P$h" 2>/dev/null || true; done
  for h in "$@"; do rm -rf "/var/run/dpdk/$EAL_PREFIX$h"; done
  rm -rf "$LAB"
}

# A veth from namespace $P$host (as eth0, with ADDRESS/LEN) to the bridge br0 of $P$sw, port v-$host.
attach_host() {  # host address/len
  local h=$1 addr=$2
  ip netns add "$P$h"
  ip link add eth0 netns "$P$h" type veth peer name "v-$h" netns "${P}sw"
  ip -n "${P}sw" link set "v-$h" master br0 up
  in_ns "$h" ip link set lo up
  in_ns "$h" ip addr add "$addr" dev eth0
  in_ns "$h" ip link set eth0 up
  # veth offloads would leave partial checksums in frames that dplbd forwards.
  in_ns "$h" ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1 || true
}

switch_up() {
  ip netns add "${P}sw"
  ip -n "${P}sw" link add br0 type bridge
  ip -n "${P}sw" link set br0 up
}

nginx_start() {  # rsN [listen...]: answers "rsN\n" on / (and slowly on /slow)
  local rs=$1 d=$LAB/$1
  mkdir -p "$d"
  cat > "$d/nginx.conf" <<NGINX
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  server {
    listen 80;
    location / { default_type text/plain; return 200 "$rs\n"; }
    location /slow { default_type text/plain; limit_rate 64; return 200 "$rs: $(printf 'x%.0s' $(seq 1 600))\n"; }
  }
}
NGINX
  in_ns "$rs" nginx -c "$d/nginx.conf" -p "$d" 2>>"$d/error.log"
}

dplbd_start() {  # lbN: dplbd in $P$lb on its eth0 with $LAB/$lb.yaml; returns once dplbctl answers
  local lb=$1
  setsid "$ROOT/scripts/lab-run-in-ns" "$P$lb" "$DPLBD" -l 0,1 --no-huge --no-pci -m 256 \
    --file-prefix "$EAL_PREFIX$lb" --log-level lib.eal:error --vdev net_af_packet0,iface=eth0 \
    -- --config "$LAB/$lb.yaml" --idle-sleep-us 200 >> "$LAB/$lb.log" 2>&1 &
  echo $! > "$LAB/$lb.pid"
  for _ in $(seq 1 100); do   # at most 10 s
    ctl "$lb" status >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$LAB/$lb.pid")" 2>/dev/null || break
    sleep 0.1
  done
  say "lab: dplbd on $lb did not start:"; cat "$LAB/$lb.log"; return 1
}
