"""Staff accounts on the web: password hashes, sessions, and who may do what."""
