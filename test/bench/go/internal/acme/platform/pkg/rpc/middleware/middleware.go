// Synthetic stack frames for the pprof-exporter benchmark (see internal/chain).

// Package middleware holds synthetic variant functions for realistic stacks.
package middleware

import "pprofbench/internal/chain"

func init() {
	chain.Steps[12] = invokeWithDeadlinePropagation
	chain.Steps[13] = authorizeCallerCredentialsFromMetadata
	chain.Steps[14] = recordRequestLatencyHistogram
	chain.Steps[15] = retryIdempotentCallWithJitteredBackoff
}

//go:noinline
func invokeWithDeadlinePropagation(idx, level int) {
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
func authorizeCallerCredentialsFromMetadata(idx, level int) {
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
func recordRequestLatencyHistogram(idx, level int) {
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
func retryIdempotentCallWithJitteredBackoff(idx, level int) {
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
