// Command peer is the Go baseline measured next to pprof-exporter:
//
//	peer -kind goroutine|heap|debug2 -file F -iterations I
//
// The file is read once; each iteration then parses it from a bytes.Reader
// and groups it the way the exporter does:
//
//   - goroutine: github.com/google/pprof/profile.Parse, then samples grouped
//     by function-name sequence (leaf to root, every Line of every Location,
//     so inlined frames count) into signature -> sum of value[0].
//   - heap: profile.Parse, then samples grouped by allocation site (the
//     innermost frame outside runtime.*, else the leaf) summing all values.
//   - debug2: github.com/maruel/panicparse/v2/stack.ScanSnapshot, then
//     Snapshot.Aggregate(stack.AnyPointer) into buckets.
//
// One warm-up iteration runs before the timed ones. It prints one JSON line.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/maruel/panicparse/v2/stack"
)

type result struct {
	Kind       string  `json:"kind"`
	File       string  `json:"file"`
	Iterations int     `json:"iterations"`
	MedianMs   float64 `json:"median_ms"`
	MinMs      float64 `json:"min_ms"`
	Groups     int     `json:"groups"`
	Samples    int64   `json:"samples"`
	MaxRSSMiB  float64 `json:"maxrss_mib"`
	Opts       string  `json:"panicparse_opts,omitempty"`
	Note       string  `json:"note,omitempty"`
}

func main() {
	kind := flag.String("kind", "", "goroutine | heap | debug2")
	file := flag.String("file", "", "profile file")
	iters := flag.Int("iterations", 10, "timed iterations (after one warm-up)")
	ppOpts := flag.String("panicparse-opts", "default", "debug2 only: default (stack.DefaultOpts(): names arguments, guesses paths, reads sources) | fast (all three off)")
	flag.Parse()
	if *file == "" || *iters < 1 {
		flag.Usage()
		os.Exit(2)
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		fail(err)
	}
	var once func() (groups int, samples int64, note string, err error)
	switch *kind {
	case "goroutine":
		once = func() (int, int64, string, error) { return goroutines(b) }
	case "heap":
		once = func() (int, int64, string, error) { return heap(b) }
	case "debug2":
		var opts *stack.Opts
		switch *ppOpts {
		case "default":
			opts = stack.DefaultOpts()
		case "fast":
			opts = &stack.Opts{}
		default:
			fail(fmt.Errorf("-panicparse-opts: want default or fast, got %q", *ppOpts))
		}
		once = func() (int, int64, string, error) { return debug2(b, opts) }
	default:
		fail(fmt.Errorf("-kind: want goroutine, heap or debug2, got %q", *kind))
	}

	res := result{Kind: *kind, File: *file, Iterations: *iters}
	if *kind == "debug2" {
		res.Opts = *ppOpts
	}
	if _, _, _, err := once(); err != nil { // warm-up
		fail(err)
	}
	times := make([]float64, 0, *iters)
	for i := 0; i < *iters; i++ {
		runtime.GC() // don't bill the previous iteration's garbage to this one
		t := time.Now()
		g, s, note, err := once()
		times = append(times, float64(time.Since(t).Nanoseconds())/1e6)
		if err != nil {
			fail(err)
		}
		res.Groups, res.Samples, res.Note = g, s, note
	}
	sort.Float64s(times)
	res.MinMs = times[0]
	if n := len(times); n%2 == 1 {
		res.MedianMs = times[n/2]
	} else {
		res.MedianMs = (times[n/2-1] + times[n/2]) / 2
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		res.MaxRSSMiB = float64(ru.Maxrss) / 1024 // ru_maxrss is KiB on Linux
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peer:", err)
	os.Exit(1)
}

// goroutines groups by the leaf-to-root function-name sequence.
func goroutines(b []byte) (int, int64, string, error) {
	p, err := profile.Parse(bytes.NewReader(b))
	if err != nil {
		return 0, 0, "", err
	}
	if len(p.SampleType) == 0 {
		return 0, 0, "", errors.New("profile has no sample types")
	}
	groups := map[string]int64{}
	var names []string
	var total int64
	for _, s := range p.Sample {
		names = names[:0]
		for _, loc := range s.Location { // leaf first
			for _, ln := range loc.Line { // Line[0] is the innermost inlined function
				names = append(names, funcName(ln))
			}
		}
		groups[strings.Join(names, "\n")] += s.Value[0]
		total += s.Value[0]
	}
	return len(groups), total, "", nil
}

// heap groups by allocation site and sums all four values.
func heap(b []byte) (int, int64, string, error) {
	p, err := profile.Parse(bytes.NewReader(b))
	if err != nil {
		return 0, 0, "", err
	}
	nv := len(p.SampleType)
	if nv != 4 {
		return 0, 0, "", fmt.Errorf("expected 4 heap sample types, got %d", nv)
	}
	groups := map[string]*[4]int64{}
	for _, s := range p.Sample {
		site := allocationSite(s)
		g := groups[site]
		if g == nil {
			g = new([4]int64)
			groups[site] = g
		}
		for i := 0; i < 4; i++ {
			g[i] += s.Value[i]
		}
	}
	return len(groups), int64(len(p.Sample)), "", nil
}

// allocationSite is the innermost frame outside the runtime, else the leaf.
func allocationSite(s *profile.Sample) string {
	leaf := ""
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			name := funcName(ln)
			if leaf == "" {
				leaf = name
			}
			if !strings.HasPrefix(name, "runtime.") {
				return name
			}
		}
	}
	return leaf
}

func funcName(ln profile.Line) string {
	if ln.Function == nil {
		return ""
	}
	return ln.Function.Name
}

// debug2 parses a runtime.Stack dump with panicparse and buckets it.
func debug2(b []byte, opts *stack.Opts) (int, int64, string, error) {
	snap, _, err := stack.ScanSnapshot(bytes.NewReader(b), io.Discard, opts)
	note := ""
	if err != nil && err != io.EOF {
		if snap == nil {
			return 0, 0, "", err
		}
		// A dump cut at 64 MiB ends mid-goroutine; keep what parsed.
		note = "scan error (partial snapshot used): " + err.Error()
	}
	if snap == nil {
		return 0, 0, "", errors.New("no goroutine dump found")
	}
	agg := snap.Aggregate(stack.AnyPointer)
	return len(agg.Buckets), int64(len(snap.Goroutines)), note, nil
}
