#!/usr/bin/env bash
# make-seed.sh OUT.iso --instance-id ID --hostname H [--ssh-key "ssh-ed25519 AAAA..."]...
#              [--user-data FILE]
# Writes a cloud-init NoCloud seed: an ISO9660 volume labelled "cidata" holding meta-data
# (instance-id, local-hostname) and user-data (#cloud-config with hostname and
# ssh_authorized_keys). With --user-data FILE that file is the user-data verbatim and any
# --ssh-key goes to meta-data public-keys instead (cloud-init reads both).
# Values are checked against allowlists and written as quoted YAML with printf.
set -euo pipefail
umask 022

die() { printf 'make-seed: %s\n' "$*" >&2; exit 2; }
usage() { die "usage: make-seed.sh OUT.iso --instance-id ID --hostname H [--ssh-key KEY]... [--user-data FILE]"; }

(( $# >= 1 )) || usage
out=$1; shift
[[ -n $out && $out != -* ]] || usage
iid= host= udfile=
keys=()
while (( $# )); do
    (( $# >= 2 )) || usage
    case $1 in
        --instance-id) iid=$2 ;;
        --hostname)    host=$2 ;;
        --ssh-key)     keys+=("$2") ;;
        --user-data)   udfile=$2 ;;
        *) usage ;;
    esac
    shift 2
done

[[ $iid =~ ^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$ ]] || die "bad --instance-id (allowed: A-Z a-z 0-9 . _ : @ + = -, up to 128)"
[[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$ && ${#host} -le 253 ]] \
    || die "bad --hostname (RFC 1123 name)"
for k in "${keys[@]}"; do
    [[ $k =~ ^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp[0-9]+|sk-[A-Za-z0-9@.-]+)\ [A-Za-z0-9+/]+={0,3}(\ [[:print:]]*)?$ ]] \
        || die "bad --ssh-key (one OpenSSH public key line expected)"
done
if [[ -n $udfile ]]; then [[ -f $udfile && -r $udfile ]] || die "cannot read --user-data file: $udfile"; fi
command -v genisoimage >/dev/null || die "genisoimage missing (install genisoimage)"

# YAML double-quoted scalar
yq() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
mkdir "$tmp/seed"
{
    printf 'instance-id: %s\n' "$(yq "$iid")"
    printf 'local-hostname: %s\n' "$(yq "$host")"
    if [[ -n $udfile && ${#keys[@]} -gt 0 ]]; then
        printf 'public-keys:\n'
        for k in "${keys[@]}"; do printf '  - %s\n' "$(yq "$k")"; done
    fi
} > "$tmp/seed/meta-data"
if [[ -n $udfile ]]; then
    cp -- "$udfile" "$tmp/seed/user-data"
else
    {
        printf '#cloud-config\n'
        printf 'hostname: %s\n' "$(yq "$host")"
        if (( ${#keys[@]} )); then
            printf 'ssh_authorized_keys:\n'
            for k in "${keys[@]}"; do printf '  - %s\n' "$(yq "$k")"; done
        fi
    } > "$tmp/seed/user-data"
fi

genisoimage -quiet -V cidata -J -r -o "$tmp/seed.iso" "$tmp/seed/user-data" "$tmp/seed/meta-data"
mkdir -p -- "$(dirname -- "$out")"
mv -f -- "$tmp/seed.iso" "$out"
