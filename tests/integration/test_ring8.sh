#!/usr/bin/env bash
# A ring of 8 real super nodes with logind and bootstrapd: the ring forms
# in Node-ID order, records put through one node are fetched (signatures
# checked by p2psip) from every node, kept three times, and survive kill -9
# of one node and of two non-neighbours, restarts, a graceful leave and a
# join into the loaded ring.
. "$(dirname "$0")/../lib.sh"
N=8 R=40 FULL=1
. "$(dirname "$0")/ring_scenario.sh"
