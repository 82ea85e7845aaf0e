#!/usr/bin/env bash
# The cgroup-v2 lane now lives in tests/uml/run.sh (this crate's real-kernel tests and the
# container tests of resource control, on a pure cgroup2 user-mode-linux guest).
exec "$(dirname "$0")/../../tests/uml/run.sh" "$@"
