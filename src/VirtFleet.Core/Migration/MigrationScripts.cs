namespace VirtFleet.Migration;

/// <summary>
/// The host-side steps of a move. Every value reaches them as a quoted argument (<c>set -- ...</c> before the body,
/// built with <see cref="Transport.ShellQuote"/>); the bodies are fixed text. Steps that change a host run under the
/// host lock (<see cref="Transport.HostLock.RunAsync"/>).
/// </summary>
internal static class MigrationScripts
{
    /// <summary>Where a move keeps its temporary key, wrapper and XML on the source (root-only, removed after the move).</summary>
    public const string WorkRoot = Transport.HostLock.LockDirectory;

    /// <summary>
    /// Read on the source: the instance's live and migratable XML, its state, persistence, and each owned disk's
    /// qemu-img info (JSON). Args: name, owned disk paths...
    /// </summary>
    public const string ReadSource = """
        V() { virsh -q -c qemu:///system "$@"; }
        n=$1; shift
        V domuuid -- "$n" >/dev/null 2>&1 || { echo "no domain $n on this host" >&2; exit 3; }
        echo @@VF-STATE@@; V domstate -- "$n"
        echo @@VF-PERSISTENT@@; V dominfo -- "$n" | sed -n 's/^Persistent: *//p'
        echo @@VF-XML@@; V dumpxml -- "$n"
        echo @@VF-MIGXML@@; V dumpxml --migratable -- "$n"
        for f in "$@"; do
          echo "@@VF-DISK@@ $f"
          [ -f "$f" ] && { qemu-img info -U --output=json -- "$f" 2>/dev/null || qemu-img info --output=json -- "$f"; }
        done
        echo @@VF-END@@
        exit 0
        """;

    /// <summary>Makes the move's temporary key on the source. Args: work folder. Prints the public key.</summary>
    public const string MakeKey = """
        d=$1
        umask 077
        install -d -m 0700 -o 0 -g 0 -- "${d%/*}" && rm -rf -- "$d" && mkdir -m 0700 -- "$d" || exit 1
        ssh-keygen -q -t ed25519 -N '' -C "${d##*/}" -f "$d/key" >/dev/null </dev/null || { echo 'ssh-keygen failed' >&2; exit 1; }
        cat -- "$d/key.pub"
        """;

    /// <summary>
    /// Shell functions on the destination for the move's authorization: the sshd's AuthorizedKeysFile for the user
    /// (from the running sshd's own configuration) and its host keys.
    /// </summary>
    private const string SshdFunctions = """
        vf_sshd() { # user -> prints sshd -T output for that user
          c=
          p=$(cat /run/sshd.pid 2>/dev/null)
          # The listener's command line (sshd rewrites it into one string: "sshd: /usr/sbin/sshd -f FILE [listener] ...").
          [ -n "$p" ] && c=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | sed -n 's/.* -f *\([^ ]*\).*/\1/p')
          if [ -n "$c" ]; then sshd -T -f "$c" -C "user=$1,host=vf,addr=127.0.0.1" 2>/dev/null; else sshd -T -C "user=$1,host=vf,addr=127.0.0.1" 2>/dev/null; fi
        }
        vf_akfile() { # user -> the first AuthorizedKeysFile, absolute
          h=$(getent passwd "$1" | cut -d: -f6)
          f=$(vf_sshd "$1" | sed -n 's/^authorizedkeysfile \([^ ]*\).*/\1/p' | head -n 1)
          [ -n "$f" ] || f=.ssh/authorized_keys
          f=$(printf '%s' "$f" | sed -e "s|%h|$h|g" -e "s|%u|$1|g" -e 's|%%|%|g')
          case "$f" in /*) ;; *) f="$h/$f" ;; esac
          printf '%s' "$f"
        }
        """;

    /// <summary>
    /// Authorizes the move on the destination: one line in the user's authorized keys, restricted to libvirt's own
    /// stdio proxy (virt-ssh-helper, through sudo -n for a sudo user), tagged with the move's id; prints the host's
    /// public keys. Args: user, tag, public key, sudo(0|1).
    /// </summary>
    public const string Authorize = SshdFunctions + "\n" + """
        u=$1 tag=$2 key=$3
        helper=$(command -v virt-ssh-helper) || { echo 'virt-ssh-helper is not installed (libvirt-daemon)' >&2; exit 1; }
        if [ "$4" = 1 ]; then cmd="sudo -n $helper qemu:///system"; else cmd="$helper qemu:///system"; fi
        case "$key" in "ssh-ed25519 "*" $tag") ;; *) echo 'unexpected key' >&2; exit 1 ;; esac
        f=$(vf_akfile "$u")
        [ -n "$f" ] || { echo "cannot tell the authorized keys file of $u" >&2; exit 1; }
        mkdir -p -- "${f%/*}" || exit 1
        printf 'restrict,command="%s" %s\n' "$cmd" "$key" >> "$f" || exit 1
        echo @@VF-HOSTKEYS@@
        vf_sshd "$u" | sed -n 's/^hostkey //p' | while read -r k; do cat -- "$k.pub" 2>/dev/null; done
        exit 0
        """;

    /// <summary>Takes the move's line out of the authorized keys again (only lines ending in its tag). Args: user, tag.</summary>
    public const string Revoke = SshdFunctions + "\n" + """
        u=$1 tag=$2
        case "$tag" in virtfleet-migration-*) ;; *) exit 1 ;; esac
        f=$(vf_akfile "$u")
        [ -f "$f" ] || exit 0
        grep -q -- " $tag\$" "$f" || exit 0
        t=$(mktemp "$f.XXXXXX") || exit 1
        grep -v -- " $tag\$" "$f" > "$t"; cat -- "$t" > "$f"; rc=$?; rm -f -- "$t"
        exit $rc
        """;

    /// <summary>
    /// Prepares the destination for the instance: its folder with a marker naming the UUID (a move that died is
    /// cleaned by the next one), an empty overlay per copied disk on the same backing file and of the same size, the
    /// read-only files (the seed) written from the arguments. Refuses when a domain of the name or UUID is here, or
    /// the folder exists without our marker. Args: name, uuid, folder, then "disk PATH BACKING BACKINGFMT SIZE" or
    /// "file PATH GZIP-BASE64" groups.
    /// </summary>
    public const string PrepareDestination = """
        V() { virsh -q -c qemu:///system "$@"; }
        n=$1 u=$2 d=$3; shift 3
        V uri >/dev/null 2>&1 || { echo 'libvirtd does not answer' >&2; exit 1; }
        V domuuid -- "$n" >/dev/null 2>&1 && { echo "a domain named $n is already defined here" >&2; exit 3; }
        V domname -- "$u" >/dev/null 2>&1 && { echo "a domain with UUID $u is already defined here" >&2; exit 3; }
        if [ -e "$d" ]; then
          [ "$(cat -- "$d/.incoming" 2>/dev/null)" = "$u" ] || { echo "$d exists and is not a move of this instance; left alone" >&2; exit 3; }
          rm -rf -- "$d"
        fi
        umask 077
        mkdir -p -- "$d" && chmod 0711 -- "$d" && printf '%s\n' "$u" > "$d/.incoming" || exit 1
        while [ $# -gt 0 ]; do
          case "$1" in
            disk) if [ -n "$3" ]; then err=$(qemu-img create -q -f qcow2 -F "$4" -b "$3" -- "$2" "$5" 2>&1)
                  else err=$(qemu-img create -q -f qcow2 -- "$2" "$5" 2>&1); fi || { echo "qemu-img create $2: $err" >&2; rm -rf -- "$d"; exit 1; }
                  shift 5 ;;
            file) printf '%s' "$3" | base64 -d | gzip -dc > "$2" || { echo "writing $2 failed" >&2; rm -rf -- "$d"; exit 1; }
                  shift 3 ;;
            *) echo "bad argument $1" >&2; rm -rf -- "$d"; exit 1 ;;
          esac
        done
        exit 0
        """;

    /// <summary>
    /// The live move itself, on the source: writes the known host keys and the connect wrapper (libvirt's ext
    /// transport: ssh with the move's key to the destination's virt-ssh-helper, the host key checked strictly),
    /// then <c>virsh migrate --live --persistent --undefinesource --copy-storage-inc</c> with the destination XML;
    /// memory and disks go qemu to qemu to the migrate URI (MoveOperation.MigrateUri: the destination's address). The work
    /// folder is removed afterwards. Args: work folder, name, destination address, port, user, known_hosts text, XML (base64),
    /// migrate URI, extra flags...
    /// </summary>
    public const string MigrateLive = """
        d=$1 n=$2 addr=$3 port=$4 user=$5 kh=$6 xml=$7 muri=$8; shift 8
        trap 'rm -rf -- "$d"' EXIT
        [ -f "$d/key" ] || { echo 'the move key is missing' >&2; exit 1; }
        printf '%s\n' "$kh" > "$d/known_hosts" && printf '%s' "$xml" | base64 -d > "$d/domain.xml" || exit 1
        q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
        {
          echo '#!/bin/sh'
          echo "echo \$\$ > $(q "$d/ssh.pid")"
          echo "exec ssh -T -i $(q "$d/key") -o IdentitiesOnly=yes -o UserKnownHostsFile=$(q "$d/known_hosts") -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p $(q "$port") -l $(q "$user") -- $(q "$addr")"
        } > "$d/connect" && chmod 0700 "$d/connect" || exit 1
        virsh -q -c qemu:///system migrate --live --persistent --undefinesource --copy-storage-inc --auto-converge "$@" \
          --xml "$d/domain.xml" --migrateuri "$muri" -- "$n" "qemu+ext:///system?command=$d/connect" >/dev/null 2>"$d/err" &
        m=$!
        # The client (this virsh) holds the only connection to the destination's libvirtd: when it is lost (that libvirtd
        # died, the host or the network went: ssh's keep-alive ends it within 15 s), the source's job is aborted at once
        # instead of streaming into a destination nobody will finish; libvirt then cancels the disk copy and the guest
        # keeps running here.
        gone() { [ -s "$d/ssh.pid" ] || return 1; p=$(cat -- "$d/ssh.pid"); [ ! -e "/proc/$p" ] || [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" = Z ]; }
        while kill -0 "$m" 2>/dev/null; do
          if gone; then
            sleep 1
            kill -0 "$m" 2>/dev/null || break
            virsh -q -c qemu:///system domjobabort -- "$n" >/dev/null 2>&1 && echo 'the connection to the destination was lost: the migration job was aborted on the source' >&2
            break
          fi
          sleep 0.2
        done
        wait "$m"; rc=$?
        cat -- "$d/err" >&2
        exit $rc
        """;

    /// <summary>
    /// The offline copy, on the source: each file of the instance's folder named in the arguments is sent with tar
    /// over ssh (the move's key) to the destination, whose authorized line only unpacks into that folder. Args: work
    /// folder, instance folder, destination address, port, user, known_hosts text, files (base names)...
    /// Prints each file's SHA-256 as read here.
    /// </summary>
    public const string CopyOffline = """
        d=$1 dir=$2 addr=$3 port=$4 user=$5 kh=$6; shift 6
        trap 'rm -rf -- "$d"' EXIT
        [ -f "$d/key" ] || { echo 'the move key is missing' >&2; exit 1; }
        printf '%s\n' "$kh" > "$d/known_hosts" || exit 1
        for f in "$@"; do case "$f" in */*|.*|'') echo "bad file name $f" >&2; exit 1 ;; esac; done
        tar -C "$dir" --sparse -cf - -- "$@" | ssh -T -i "$d/key" -o IdentitiesOnly=yes -o UserKnownHostsFile="$d/known_hosts" \
          -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -p "$port" -l "$user" -- "$addr" \
          || { echo 'the copy to the destination failed' >&2; exit 1; }
        for f in "$@"; do printf '@@VF-SUM@@ %s %s\n' "$f" "$(sha256sum < "$dir/$f" | cut -d' ' -f1)"; done
        """;

    /// <summary>
    /// Authorizes the offline copy on the destination: a line restricted to unpacking a tar stream into the
    /// instance's folder (which must carry the move's marker). Args: user, tag, public key, folder, sudo(0|1).
    /// </summary>
    public const string AuthorizeCopy = SshdFunctions + "\n" + """
        u=$1 tag=$2 key=$3 dir=$4
        case "$key" in "ssh-ed25519 "*" $tag") ;; *) echo 'unexpected key' >&2; exit 1 ;; esac
        case "$dir" in *[!A-Za-z0-9/._-]*|*/../*) echo "unexpected folder $dir" >&2; exit 1 ;; esac
        [ -f "$dir/.incoming" ] || { echo "$dir is not being prepared for a move" >&2; exit 1; }
        if [ "$5" = 1 ]; then cmd="sudo -n tar -C $dir --no-same-owner --no-overwrite-dir -xf -"; else cmd="tar -C $dir --no-same-owner --no-overwrite-dir -xf -"; fi
        f=$(vf_akfile "$u")
        [ -n "$f" ] || { echo "cannot tell the authorized keys file of $u" >&2; exit 1; }
        mkdir -p -- "${f%/*}" || exit 1
        printf 'restrict,command="%s" %s\n' "$cmd" "$key" >> "$f" || exit 1
        echo @@VF-HOSTKEYS@@
        vf_sshd "$u" | sed -n 's/^hostkey //p' | while read -r k; do cat -- "$k.pub" 2>/dev/null; done
        exit 0
        """;

    /// <summary>
    /// The offline move's define on the destination: the files' SHA-256 must match the source's, then the domain is
    /// defined from the source's inactive XML. Args: name, uuid, folder, XML (base64), then "FILE SUM" pairs.
    /// </summary>
    public const string DefineOffline = """
        V() { virsh -q -c qemu:///system "$@"; }
        n=$1 u=$2 d=$3 xml=$4; shift 4
        [ "$(cat -- "$d/.incoming" 2>/dev/null)" = "$u" ] || { echo "$d is not a move of this instance" >&2; exit 1; }
        while [ $# -gt 1 ]; do
          s=$(sha256sum < "$d/$1" | cut -d' ' -f1)
          [ "$s" = "$2" ] || { echo "$1 differs from the source's copy (sha256 $s, not $2)" >&2; exit 1; }
          shift 2
        done
        t=$(mktemp) && printf '%s' "$xml" | base64 -d > "$t" || exit 1
        err=$(V define -- "$t" 2>&1); rc=$?; rm -f -- "$t"
        [ $rc -eq 0 ] || { echo "virsh define: $err" >&2; exit 1; }
        exit 0
        """;

    /// <summary>
    /// What a host holds of the instance now: "@@VF-HERE@@ state uuid instance-id persistent" or "@@VF-HERE@@ none",
    /// "@@VF-HERE@@ down" when libvirtd does not answer. Args: name.
    /// </summary>
    public const string Where = """
        V() { virsh -q -c qemu:///system "$@"; }
        V uri >/dev/null 2>&1 || { echo '@@VF-HERE@@ down'; exit 0; }
        u=$(V domuuid -- "$1" 2>/dev/null) || { echo '@@VF-HERE@@ none'; exit 0; }
        s=$(V domstate -- "$1" 2>/dev/null | tr ' ' '_')
        p=$(V dominfo -- "$1" 2>/dev/null | sed -n 's/^Persistent: *//p')
        id=$(V metadata --domain "$1" --uri URI 2>/dev/null | sed 's|<|\n<|g' | sed -n 's|^<\([A-Za-z0-9_]*:\)\{0,1\}id>\(.*\)$|\2|p' | head -n 1)
        echo "@@VF-HERE@@ ${s:-unknown} $u ${id:--} ${p:--}"
        exit 0
        """;

    /// <summary>
    /// Undoes a move's preparation on the destination after a fault: only when no domain of the UUID is running or
    /// defined here (a libvirtd that does not answer: the incoming qemu of that UUID is stopped), the folder that
    /// carries the move's marker is removed, and the instance's filter chain with the jumps to it, when no domain
    /// here is that instance, with the nat and forward rules of its public address (their comment names it) and its
    /// DHCP reservation files. Args: name, uuid, folder, chain, stop (1: the source's copy is the instance), reservation files...
    /// </summary>
    public const string UndoDestination = """
        V() { virsh -q -c qemu:///system "$@"; }
        n=$1 u=$2 d=$3 chain=$4 stop=$5; shift 5
        if V uri >/dev/null 2>&1; then
          if V domname -- "$u" >/dev/null 2>&1; then
            s=$(V domstate -- "$u" 2>/dev/null)
            case "$s" in
              running|paused|"in shutdown") echo "the instance runs here ($s); nothing undone" >&2; exit 3 ;;
            esac
            # A definition the failed move left (stopped, ours: the folder carries the marker) goes.
            [ "$(cat -- "$d/.incoming" 2>/dev/null)" = "$u" ] || { echo "a domain with UUID $u is defined here and was not made by this move" >&2; exit 3; }
            V undefine --nvram -- "$u" >/dev/null 2>&1 || V undefine -- "$u" >/dev/null 2>&1
          fi
        else
          # libvirtd is gone: the incoming qemu of this UUID that the move started on this host. Only this host's: the
          # process must share this shell's mount and network namespaces (hosts that are containers or namespaces of one
          # machine see each other's processes, and the source's own qemu of the same UUID carries -incoming when an earlier
          # move started it). It is stopped only when the caller says the source's copy is the instance ($stop = 1: it runs
          # there, or is defined there and will be started); else it is left, and so is its folder.
          mnt=$(readlink /proc/$$/ns/mnt 2>/dev/null) net=$(readlink /proc/$$/ns/net 2>/dev/null)
          for p in $(pgrep -f -- "-uuid $u" 2>/dev/null); do
            [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$net" ] || continue
            tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- '-incoming' || continue
            if [ "$stop" = 1 ]; then
              kill -9 "$p" 2>/dev/null && echo "stopped the incoming qemu $p"
            else
              echo "libvirtd does not answer and the qemu $p the move started for the instance is still here; it and $d are left alone" >&2
              exit 3
            fi
          done
        fi
        if [ -e "$d" ]; then
          [ "$(cat -- "$d/.incoming" 2>/dev/null)" = "$u" ] && rm -rf -- "$d"
        fi
        for fam in iptables ip6tables; do
          command -v $fam-save >/dev/null 2>&1 || continue
          live=$($fam-save -t filter 2>/dev/null) || continue
          printf '%s\n' "$live" | grep -q "^:$chain " || continue
          {
            echo '*filter'
            printf '%s\n' "$live" | grep -- "-j $chain\$" | grep '^-A ' | sed 's/^-A /-D /'
            echo "-F $chain"; echo "-X $chain"
            echo COMMIT
          } | $fam-restore -w --noflush || echo "$fam: could not remove $chain" >&2
        done
        for t in nat filter; do
          lines=$(iptables-save -t $t 2>/dev/null | grep '^-A VF-' | grep -F -- "--comment \"vf:$n ") || continue
          { echo "*$t"; printf '%s\n' "$lines" | sed 's/^-A /-D /'; echo COMMIT; } | iptables-restore -w --noflush || echo "could not remove the $t rules of $n" >&2
        done
        for f in "$@"; do case "$f" in */network/dhcp/*/*) rm -f -- "$f" ;; esac; done
        exit 0
        """;

    /// <summary>Ends a move on the destination: the marker goes. Args: folder, uuid.</summary>
    public const string FinishDestination = """
        [ "$(cat -- "$1/.incoming" 2>/dev/null)" = "$2" ] && rm -f -- "$1/.incoming"
        exit 0
        """;

    /// <summary>
    /// Ends a move on the source, once the destination is verified: a definition still here (stopped, the same UUID)
    /// is undefined; a running one is left alone (exit 3). Then the instance's own disks (those its metadata named, read
    /// by the caller: files directly in its folder, resolved the same) and the folder go. Args: name, uuid, folder, disks...
    /// </summary>
    public const string FinishSource = """
        V() { virsh -q -c qemu:///system "$@"; }
        n=$1 u=$2 d=$3; shift 3
        if cur=$(V domuuid -- "$n" 2>/dev/null); then
          [ "$cur" = "$u" ] || { echo "the domain named $n here is another instance ($cur); nothing removed" >&2; exit 3; }
          case "$(V domstate -- "$n" 2>/dev/null)" in
            "shut off") V undefine --nvram -- "$n" >/dev/null 2>&1 || V undefine -- "$n" >/dev/null || exit 1 ;;
            *) echo "the instance still runs here; its disks are kept" >&2; exit 3 ;;
          esac
        fi
        real=''; [ -d "$d" ] && [ ! -L "$d" ] && real=$(realpath -e -- "$d" 2>/dev/null)
        [ -n "$real" ] || exit 0
        for f in "$@"; do
          case "$f/" in */./*|*/../*|*//*) continue ;; esac
          case "$f" in "$d/"*/*) continue ;; "$d/"?*) ;; *) continue ;; esac
          r=$(realpath -m -- "$f" 2>/dev/null) || continue
          [ "${r%/*}" = "$real" ] && [ -f "$r" ] && [ ! -L "$f" ] && rm -f -- "$r"
        done
        rm -f -- "$d/.creating" "$d/domain.xml" "$d/.incoming" "$d/console.log"; rmdir -- "$d" 2>/dev/null
        exit 0
        """;

    /// <summary>
    /// The switch-over on the destination, right after a live move: each public address goes on its interface with
    /// VirtFleet's label; each old gateway the guest may still route through is added to the network's bridge (a /32,
    /// on networks that do not span hosts, where it cannot clash); public addresses and the old host's gateway are
    /// announced by gratuitous ARP (in parallel), so the segment's and the guest's ARP caches follow at once.
    /// Args: "KIND DEVICE ADDRESS LABEL" groups, KIND pub, gw or gwquiet (added, not announced).
    /// </summary>
    public const string Announce = """
        arp() { if command -v arping >/dev/null 2>&1; then timeout 3 arping -q -U -c 1 -I "$1" "$2" >/dev/null 2>&1
                elif command -v busybox >/dev/null 2>&1; then timeout 3 busybox arping -q -U -c 1 -s "$2" -I "$1" "$2" >/dev/null 2>&1; fi; }
        while [ $# -ge 4 ]; do
          ip -o -4 addr show dev "$2" | grep -q " inet $3/" || ip addr add "$3/32" dev "$2" label "$4" || echo "could not add $3 to $2" >&2
          case "$1" in pub|gw) arp "$2" "$3" & ;; esac
          shift 4
        done
        wait
        exit 0
        """;
}
