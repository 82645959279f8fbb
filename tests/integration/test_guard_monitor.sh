#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# test_guard.sh in monitor mode: every way through, each recorded.
PB_GUARD_MODE=monitor
. "$(dirname "$0")/test_guard.sh"
