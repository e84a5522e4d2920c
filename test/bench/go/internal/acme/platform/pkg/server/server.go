// Package server is the root of the synthetic goroutine stacks.
package server

import (
	"pprofbench/internal/chain"

	// Register the variant functions.
	_ "pprofbench/internal/acme/payments/services/gateway/transport"
	_ "pprofbench/internal/acme/payments/services/ledger/reconcile"
	_ "pprofbench/internal/acme/platform/pkg/rpc/middleware"
	_ "pprofbench/internal/acme/platform/pkg/storage/shardmap"
)

// ServeConnectionUntilClosed is the goroutine entry point for stack idx.
//
//go:noinline
func ServeConnectionUntilClosed(idx int) {
	chain.Steps[chain.Digit(idx, 0)](idx, 0)
}

// AllocateRequestScopedBuffers allocates 1 KiB at the leaf of stack idx.
//
//go:noinline
func AllocateRequestScopedBuffers(idx int) {
	chain.Steps[chain.Digit(idx, 0)](idx, 0)
}
