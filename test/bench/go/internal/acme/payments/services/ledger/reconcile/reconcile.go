// Synthetic stack frames for the pprof-exporter benchmark (see internal/chain).

// Package reconcile holds synthetic variant functions for realistic stacks.
package reconcile

import "pprofbench/internal/chain"

func init() {
	chain.Steps[0] = processBatchWithRetries
	chain.Steps[1] = reconcileAccountEntriesForPeriod
	chain.Steps[2] = applyPendingAdjustmentsLocked
	chain.Steps[3] = flushSettlementQueueToStorage
}

//go:noinline
func processBatchWithRetries(idx, level int) {
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
func reconcileAccountEntriesForPeriod(idx, level int) {
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
func applyPendingAdjustmentsLocked(idx, level int) {
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
func flushSettlementQueueToStorage(idx, level int) {
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
