# An empty staging folder for an upload (a partial one of an earlier upload is removed); under the host lock.
# Bound: staging.
# shellcheck disable=SC2154 # bound by HostScript.Set
rm -rf -- "$staging" && mkdir -p -- "$staging"
