#!/usr/bin/env bash
# A ring of 16 real super nodes: forms in Node-ID order, records put through
# one node are fetched from all 16, kept three times, routed in at most
# log2(16) hops, and survive kill -9 of one node and of two non-neighbours.
. "$(dirname "$0")/../lib.sh"
N=16 R=32 FULL=0
. "$(dirname "$0")/ring_scenario.sh"
