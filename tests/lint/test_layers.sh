#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The layering check (tools/check_layers.py, user/LAYERS): the tree passes
# it, and a copy with one wrong include added for the purpose fails it with
# the reason, for each kind of wrong include.
set -euo pipefail
SRC=${1:?usage: test_layers.sh SOURCE_DIR}
CHECK=$SRC/tools/check_layers.py
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
python3 "$CHECK" "$SRC"

T=$(mktemp -d /tmp/pblayers.XXXXXX)
trap 'rm -rf "$T"' EXIT
# broken FILE LINE EXPECTED: a copy with LINE added to FILE must fail, saying EXPECTED
broken() {
	local file=$1 line=$2 expected=$3
	rm -rf "$T/src"
	mkdir -p "$T/src/tools"
	cp -r "$SRC/user" "$SRC/README.md" "$T/src/"
	if [ -n "$file" ]; then
		sed -i "0,/^#include/s||$line\n#include|" "$T/src/$file"
		grep -qF "$line" "$T/src/$file" || { echo "FAIL: could not edit $file"; exit 1; }
	else
		eval "$line"
	fi
	if python3 "$CHECK" "$T/src" >"$T/out"; then
		echo "FAIL: the check passed a tree with: $file $line"
		exit 1
	fi
	grep -qF -- "$expected" "$T/out" || {
		echo "FAIL: with $file $line, expected \"$expected\"; the check said:"
		cat "$T/out"
		exit 1
	}
	echo "PASS: refused ($file $line): $(head -n 1 "$T/out")"
}
broken user/lib/util.c '#include "agent.h"' 'user/agent/ is above user/lib/'
broken user/kernel/loader.c '#include "creds.h"' 'user/creds/ is above user/kernel/'
broken user/ctl/render.c '#include "audit_priv.h"' 'audit_priv.h is private to user/audit/'
broken user/adopt/adopt.c '#include "creds_priv.h"' 'creds_priv.h is private to user/creds/'
broken user/ctl/args.c '#include "state.h"' "the CLI includes nothing of the agent's"
broken user/ctl/args.c '#include "creds.h"' "the CLI includes nothing of the agent's"
broken user/guard/answer.c '#include "creds_state.h"' 'user/creds/ is above user/guard/'
broken user/state.h '#include "creds.h"' 'state.h composes the FOLDER_state.h headers only'
broken "" "sed -i 's/^guard:   lib state kernel$/guard:   lib state kernel events/' \$T/src/user/LAYERS" \
	'guard may include events, which is not below it'
broken "" "sed -i 's/^procs:   lib state kernel purpose$/procs:   lib state purpose/' \$T/src/README.md" \
	'README.md: the Layout does not show user/LAYERS'
broken "" "mkdir \$T/src/user/extra" 'user/extra/: no row in user/LAYERS'
