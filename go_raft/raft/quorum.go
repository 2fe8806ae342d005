package raft

import "slices"

// Majority is the smallest number of servers that is more than half of n.
func Majority(n int) int {
	return n/2 + 1
}

// CommittedIndex is the largest index stored on a majority of the servers.
// matchIndexes holds one value per server, the leader's own last index
// included; it is sorted in place.
func CommittedIndex(matchIndexes []int) int {
	slices.Sort(matchIndexes)
	slices.Reverse(matchIndexes)
	return matchIndexes[Majority(len(matchIndexes))-1]
}
