# The fleet's networking documents on this host (NetworkStore.ReadStep); include: docs.
vf_docs
exit 0
