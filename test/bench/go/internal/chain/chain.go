// Package chain holds the dispatch table and shared state of the synthetic
// call stacks built by the variant packages under internal/acme.
//
// A stack is identified by an index. At each level (0 = root-most, Depth-1 =
// leaf) one of Base variant functions is called, chosen by the base-Base digit
// of the index for that level (the least-significant digit at the leaf), so
// distinct indexes below Base^Depth give distinct function-name sequences.
// Each level also adds a fixed per-level offset to its digit (a bijection, so
// distinctness is kept): the root-most levels, where every small index has
// digit 0, then form a shared chain of different functions, as real stacks
// do, rather than one function recursing.
package chain

import "sync"

// Base is the number of variant functions (len(Steps)).
const Base = 16

// Steps are the variant functions, registered by the variant packages' init.
// They are plain top-level functions so that an indirect call adds exactly
// one frame (no method-value wrappers).
var Steps [Base]func(idx, level int)

var (
	// Depth is the number of variant frames per stack.
	Depth = 20
	// Heap selects the leaf behaviour: allocate (true) or park (false).
	Heap bool
	// Sink keeps heap allocations reachable; Sink[idx] is set at the leaf.
	Sink [][]byte
	// Arrived counts goroutines reaching the leaf just before parking.
	Arrived sync.WaitGroup
	// Park is never sent to or closed: goroutines block on it forever.
	Park = make(chan struct{})

	divs []int // divs[level] = Base^(Depth-1-level), 0 when it would overflow
)

// SetDepth sets Depth and precomputes the digit divisors.
func SetDepth(d int) {
	Depth = d
	divs = make([]int, d)
	p := 1
	for level := d - 1; level >= 0; level-- {
		divs[level] = p
		if p > (1<<62)/Base {
			p = 0 // higher digits of any realistic index are 0
		} else if p != 0 {
			p *= Base
		}
	}
}

// Digit is the variant chosen at level for stack idx.
func Digit(idx, level int) int {
	off := (Depth - 1 - level) * 5 % Base
	d := divs[level]
	if d == 0 {
		return off
	}
	return (idx/d + off) % Base
}

// Next calls the variant for level. Kept for the root call only: variant
// bodies dispatch inline so no extra frame appears between them.
func Next(idx, level int) { Steps[Digit(idx, level)](idx, level) }
