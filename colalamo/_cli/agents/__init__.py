"""What `colalamo claude`, `colalamo codex` and `colalamo env` share: the models a coding agent
gets, a colalamo to talk to (found or started), each client's settings, and running a client."""
