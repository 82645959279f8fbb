#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The OCSF validator the integration tests use (ocsf_validate.py) accepts a
# valid event and refuses each kind of fault it claims to find, so that its
# "valid" means something.
set -euo pipefail
D=$(dirname "$0")
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed (the README's test command installs it)"; exit 77; }
V() { python3 "$D/ocsf_validate.py" "$D/schema-1.3.0" "$@"; }
GOOD='{"category_uid":4,"class_uid":4001,"activity_id":5,"type_uid":400105,"time":1764892879753,
"severity_id":3,"status_id":2,"action_id":2,"disposition_id":2,"message":"connect",
"metadata":{"version":"1.3.0","product":{"name":"procbind","vendor_name":"procbind","version":"0"},
"profiles":["host","security_control"],"uid":"5"},"dst_endpoint":{"ip":"127.0.0.1","port":80},
"connection_info":{"protocol_name":"tcp","protocol_num":6,"direction_id":2},
"actor":{"process":{"pid":5,"uid":"5-7","name":"curl","file":{"path":"/usr/bin/curl","name":"curl","type_id":1}}},
"device":{"hostname":"vm","type_id":1},"unmapped":{"event":"connect"}}'
GOOD=$(echo "$GOOD" | tr -d '\n')
echo "$GOOD" | V >/dev/null || { echo "$GOOD" | V; echo "FAIL: a valid event was refused"; exit 1; }
echo "PASS: a valid Network Activity event"
bad() { # JQ-EDIT WHAT-THE-VALIDATOR-SAYS
	local out
	if out=$(echo "$GOOD" | jq -c "$1" | V 2>&1); then echo "FAIL: accepted ($1)"; exit 1; fi
	grep -q -- "$2" <<<"$out" || { echo "$out"; echo "FAIL: ($1) refused, but not for '$2'"; exit 1; }
	echo "PASS: refused: $1 ($2)"
}
bad 'del(.dst_endpoint)' "dst_endpoint: required, missing"
bad 'del(.metadata.product.vendor_name)' "vendor_name: required, missing"
bad '.actor.process.pid = "5"' "is not a integer_t"
bad '.procbind = 1' "not an attribute of network_activity"
bad '.disposition_id = 77' "77 is not one of"
bad '.type_uid = 400101' "type_uid"
bad '.class_uid = 4999' "is no OCSF class"
bad '.actor.process.file = {"path": "/x"}' "file.name: required, missing"
