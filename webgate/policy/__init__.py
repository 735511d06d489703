"""Pure decisions: who may do what (RBAC, asset access), password and login policy."""
