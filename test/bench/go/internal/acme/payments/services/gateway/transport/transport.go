// Synthetic stack frames for the pprof-exporter benchmark (see internal/chain).

// Package transport holds synthetic variant functions for realistic stacks.
package transport

import "pprofbench/internal/chain"

func init() {
	chain.Steps[4] = handleInboundFrameWithBackpressure
	chain.Steps[5] = dispatchRequestToRegisteredHandler
	chain.Steps[6] = negotiateStreamFlowControlWindow
	chain.Steps[7] = readLengthPrefixedMessageFromConn
}

//go:noinline
func handleInboundFrameWithBackpressure(idx, level int) {
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
func dispatchRequestToRegisteredHandler(idx, level int) {
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
func negotiateStreamFlowControlWindow(idx, level int) {
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
func readLengthPrefixedMessageFromConn(idx, level int) {
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
