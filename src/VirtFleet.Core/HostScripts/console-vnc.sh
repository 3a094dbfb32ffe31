# Where an instance's VNC console listens on its host (ConsoleOperations.ConnectAsync). Bound: name, uuid (the domain as
# read). Prints "@@VF-RESULT-$VF_NONCE@@ ADDRESS PORT" from its live XML's first VNC graphics element.
# Exit 3: the domain is not the one read; 4: it is not running or has no VNC console.
# shellcheck disable=SC2154 # bound by HostScript.Set
cur=$(V domuuid -- "$name" 2>/dev/null) || { echo "there is no domain $name on this host" >&2; exit 3; }
[ "$cur" = "$uuid" ] || { echo "the domain named $name is another one ($cur) than the instance that was read" >&2; exit 3; }
[ "$(V domstate -- "$name" 2>/dev/null)" = running ] || { echo "$name is not running: its console is there only while it runs" >&2; exit 4; }
g=$(V dumpxml -- "$name" | tr '\n' ' ' | sed -n "s|.*\(<graphics [^>]*type=.vnc[^>]*>\).*|\1|p" | head -n 1)
port=$(printf '%s' "$g" | sed -n "s|.* port=.\([0-9-]*\).*|\1|p")
addr=$(printf '%s' "$g" | sed -n "s|.* listen=.\([0-9a-fA-F.:]*\).*|\1|p")
case "$port" in ''|-*) echo "$name has no VNC console" >&2; exit 4 ;; esac
printf '@@VF-RESULT-%s@@ %s %s\n' "$VF_NONCE" "${addr:-127.0.0.1}" "$port"
