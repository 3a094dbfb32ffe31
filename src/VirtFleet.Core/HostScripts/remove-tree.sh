# Removes a folder of VirtFleet's (an image's, or an upload's staging folder) and what is in it; under the host lock.
# Bound: path.
# shellcheck disable=SC2154 # bound by HostScript.Set
rm -rf -- "$path"
