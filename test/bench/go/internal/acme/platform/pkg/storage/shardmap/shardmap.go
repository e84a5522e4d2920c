// Synthetic stack frames for the pprof-exporter benchmark (see internal/chain).

// Package shardmap holds synthetic variant functions for realistic stacks.
package shardmap

import "pprofbench/internal/chain"

func init() {
	chain.Steps[8] = lookupPartitionRangeForKey
	chain.Steps[9] = rebalancePartitionsAcrossNodesLocked
	chain.Steps[10] = compactTombstonedSegmentsInBackground
	chain.Steps[11] = scanIndexBlocksConcurrently
}

//go:noinline
func lookupPartitionRangeForKey(idx, level int) {
	if level == chain.Depth-1 {
		if chain.Heap {
			chain.Sink[idx] = make([]byte, 1024)
			return
		}
		chain.Arrived.Done()
		<-chain.Park
		return
	}
	chain.Steps[chain.Digit(idx, level+1)](idx, level+1)
}

//go:noinline
func rebalancePartitionsAcrossNodesLocked(idx, level int) {
	if level == chain.Depth-1 {
		if chain.Heap {
			chain.Sink[idx] = make([]byte, 1024)
			return
		}
		chain.Arrived.Done()
		<-chain.Park
		return
	}
	chain.Steps[chain.Digit(idx, level+1)](idx, level+1)
}

//go:noinline
func compactTombstonedSegmentsInBackground(idx, level int) {
	if level == chain.Depth-1 {
		if chain.Heap {
			chain.Sink[idx] = make([]byte, 1024)
			return
		}
		chain.Arrived.Done()
		<-chain.Park
		return
	}
	chain.Steps[chain.Digit(idx, level+1)](idx, level+1)
}

//go:noinline
func scanIndexBlocksConcurrently(idx, level int) {
	if level == chain.Depth-1 {
		if chain.Heap {
			chain.Sink[idx] = make([]byte, 1024)
			return
		}
		chain.Arrived.Done()
		<-chain.Park
		return
	}
	chain.Steps[chain.Digit(idx, level+1)](idx, level+1)
}
