"""rq jobs. Each takes ids and primitives and calls a command inside the app context."""
