# The encrypted administrator passwords of the named instances (PasswordOperations.ReadStep); include: passwords.
vf_passwords "$@"
exit 0
