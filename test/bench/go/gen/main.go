// Command gen writes realistic Go profiles for the pprof-exporter benchmark.
//
//	gen -goroutines N -stacks K -depth D -heap-sites M [-text=false] -out DIR
//
// It parks N goroutines spread evenly over K distinct stacks of D variant
// frames (plus an entry frame), retains 1 KiB from each of M distinct
// allocation stacks, then writes goroutine.pb.gz, goroutine.debug1.txt,
// goroutine.debug2.txt (runtime.Stack, doubling up to 64 MiB and cut there,
// as net/http/pprof's debug=2 does), heap.pb.gz and meta.json into DIR.
// -text=false leaves out the two text dumps (for K = N they would be GiBs
// that no benchmark row reads).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"pprofbench/internal/acme/platform/pkg/server"
	"pprofbench/internal/chain"
)

type meta struct {
	Goroutines       int                `json:"goroutines"`
	Stacks           int                `json:"stacks"`
	Depth            int                `json:"depth"`
	HeapSites        int                `json:"heap_sites"`
	NumGoroutine     int                `json:"num_goroutine"`
	ProfileTotal     int                `json:"goroutine_profile_total"`
	Debug2Truncated  bool               `json:"debug2_truncated"`
	Debug2Goroutines int                `json:"debug2_goroutines"`
	FileBytes        map[string]int64   `json:"file_bytes"`
	PhaseSeconds     map[string]float64 `json:"phase_seconds"`
	MaxRSSMiB        float64            `json:"maxrss_mib"`
	GoVersion        string             `json:"go_version"`
}

func main() {
	// Record every allocation: set before anything else allocates.
	runtime.MemProfileRate = 1

	n := flag.Int("goroutines", 10000, "goroutines to park")
	k := flag.Int("stacks", 100, "distinct goroutine stacks")
	depth := flag.Int("depth", 20, "variant frames per stack")
	m := flag.Int("heap-sites", 1000, "distinct allocation stacks retaining 1 KiB each")
	text := flag.Bool("text", true, "also write goroutine.debug1.txt and goroutine.debug2.txt")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *out == "" || *n < 0 || *k < 1 || *depth < 1 || *m < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*n, *k, *depth, *m, *text, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(n, k, depth, m int, text bool, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	md := meta{Goroutines: n, Stacks: k, Depth: depth, HeapSites: m,
		FileBytes: map[string]int64{}, PhaseSeconds: map[string]float64{}, GoVersion: runtime.Version()}
	phase := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		md.PhaseSeconds[name] = time.Since(t).Seconds()
		fmt.Fprintf(os.Stderr, "gen: %-16s %8.2fs\n", name, md.PhaseSeconds[name])
		return err
	}
	chain.SetDepth(depth)

	// Heap: M distinct allocation stacks, each retaining 1 KiB.
	_ = phase("heap-sites", func() error {
		chain.Heap = true
		chain.Sink = make([][]byte, m)
		for i := 0; i < m; i++ {
			server.AllocateRequestScopedBuffers(i)
		}
		chain.Heap = false
		return nil
	})

	// Goroutines: N parked, goroutine i on stack i % K.
	_ = phase("spawn-park", func() error {
		chain.Arrived.Add(n)
		for i := 0; i < n; i++ {
			go server.ServeConnectionUntilClosed(i % k)
		}
		chain.Arrived.Wait()
		// Each goroutine calls Done just before its channel receive; give
		// the last ones time to actually block.
		for i := 0; i < 10; i++ {
			runtime.Gosched()
		}
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	md.NumGoroutine = runtime.NumGoroutine()

	write := func(name string, f func(*os.File) error) error {
		return phase(name, func() error {
			p := filepath.Join(out, name)
			fh, err := os.Create(p)
			if err != nil {
				return err
			}
			if err := f(fh); err != nil {
				fh.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := fh.Close(); err != nil {
				return err
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			md.FileBytes[name] = st.Size()
			return nil
		})
	}
	if err := write("goroutine.pb.gz", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) }); err != nil {
		return err
	}
	if text {
		if err := writeText(write, &md); err != nil {
			return err
		}
	}
	if err := write("heap.pb.gz", func(f *os.File) error {
		runtime.GC()
		return pprof.Lookup("heap").WriteTo(f, 0)
	}); err != nil {
		return err
	}
	runtime.KeepAlive(chain.Sink)

	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		md.MaxRSSMiB = float64(ru.Maxrss) / 1024
	}
	b, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "meta.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	os.Stdout.Write(append(b, '\n'))
	return nil
}

// writeText writes the debug=1 and debug=2 dumps.
func writeText(write func(string, func(*os.File) error) error, md *meta) error {
	var sb strings.Builder
	if err := write("goroutine.debug1.txt", func(f *os.File) error {
		if err := pprof.Lookup("goroutine").WriteTo(&sb, 1); err != nil {
			return err
		}
		_, err := f.WriteString(sb.String())
		return err
	}); err != nil {
		return err
	}
	fmt.Sscanf(sb.String(), "goroutine profile: total %d", &md.ProfileTotal)
	sb.Reset()
	if err := write("goroutine.debug2.txt", func(f *os.File) error {
		buf, truncated := goroutineStacks()
		md.Debug2Truncated = truncated
		md.Debug2Goroutines = countGoroutineHeaders(buf)
		_, err := f.Write(buf)
		return err
	}); err != nil {
		return err
	}
	return nil
}

// goroutineStacks is runtime/pprof's writeGoroutineStacks (debug=2): start
// with 1 MiB, double while full, and give up with a truncated dump at 64 MiB.
func goroutineStacks() ([]byte, bool) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n], false
		}
		if len(buf) >= 64<<20 {
			return buf, true // Filled 64 MiB - stop there.
		}
		buf = make([]byte, 2*len(buf))
	}
}

func countGoroutineHeaders(b []byte) int {
	s := string(b)
	c := strings.Count(s, "\n\ngoroutine ")
	if strings.HasPrefix(s, "goroutine ") {
		c++
	}
	return c
}
