# Library: vf_outside prints the interface of the host's IPv4 default route (the lowest metric; nothing without one),
# read from /proc/net/route with builtins only: where public addresses go unless told otherwise.
vf_outside() {
  vf_o='' vf_m=''
  while read -r vf_i vf_d _ _ _ _ vf_mt vf_k _; do
    [ "$vf_d" = 00000000 ] && [ "$vf_k" = 00000000 ] || continue
    if [ -z "$vf_m" ] || [ "$vf_mt" -lt "$vf_m" ]; then vf_m=$vf_mt vf_o=$vf_i; fi
  done < /proc/net/route
  printf '%s' "$vf_o"
}
