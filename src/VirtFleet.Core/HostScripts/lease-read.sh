# The DHCP leases and VirtFleet's reservations on this host (DhcpLeases.ReadStep); include: leases.
vf_leases
exit 0
