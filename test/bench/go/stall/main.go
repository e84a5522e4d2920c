// Command stall measures how long fetching a pprof source stops a Go service
// from answering, for the target-stall benchmark (test/bench/stall.mjs).
//
//	stall serve -n N -shape SHAPE [-depth D]
//	                                park N goroutines D frames deep, serve net/http/pprof,
//	                                expvar and /ping on 127.0.0.1:0; prints
//	                                {"addr": ...} once all are parked
//	stall ping -url URL -every D    GET URL every D until stdin closes, then
//	                                prints the longest and p99 round trip
//
// Shapes (what the parked goroutines wait on):
//
//	chan       each on its own channel that nothing else holds (leaked)
//	mutex      all on one sync.Mutex that main holds forever
//	waitgroup  all in Wait on one sync.WaitGroup that never reaches zero
//	sleep      time.Sleep(24h)
//	nilchan    receive from a nil channel (leaked)
//	mix        a quarter each of chan, sleep, nilchan and own mutex
package main

import (
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stall serve|ping ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "ping":
		ping(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: stall serve|ping ...")
		os.Exit(2)
	}
}

var (
	held      sync.Mutex
	group     sync.WaitGroup
	parked    sync.WaitGroup
	ownLocked []*sync.Mutex // kept reachable: the locks stay held, their waiters are not leaked
)

//go:noinline
func onOwnChan() {
	ch := make(chan int)
	parked.Done()
	<-ch
}

//go:noinline
func onMutex() {
	parked.Done()
	held.Lock()
}

//go:noinline
func onWaitGroup() {
	parked.Done()
	group.Wait()
}

//go:noinline
func onSleep() {
	parked.Done()
	time.Sleep(24 * time.Hour)
}

//go:noinline
func onNilChan() {
	var ch chan int
	parked.Done()
	<-ch
}

//go:noinline
func onOwnMutex(m *sync.Mutex) {
	parked.Done()
	m.Lock()
}

// descend recurses depth-1 frames, then parks: real services block deep in their call stacks,
// and the debug=2 dump's cost grows with the frames it writes.
//
//go:noinline
func descend(depth int, park func()) {
	if depth <= 1 {
		park()
		return
	}
	descend(depth-1, park)
	runtime.KeepAlive(depth) // work after the call: a real frame, not a tail call
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	n := fs.Int("n", 1000, "goroutines to park")
	shape := fs.String("shape", "chan", "chan, mutex, waitgroup, sleep, nilchan or mix")
	depth := fs.Int("depth", 1, "frames of recursion (main.descend) above each parked goroutine's blocking frame")
	fs.Parse(args)
	goDeep := func(park func()) { go descend(*depth, park) }

	held.Lock()
	group.Add(1)
	parked.Add(*n)
	for i := 0; i < *n; i++ {
		s := *shape
		if s == "mix" {
			s = []string{"chan", "sleep", "nilchan", "ownmutex"}[i%4]
		}
		switch s {
		case "chan":
			goDeep(onOwnChan)
		case "mutex":
			goDeep(onMutex)
		case "waitgroup":
			goDeep(onWaitGroup)
		case "sleep":
			goDeep(onSleep)
		case "nilchan":
			goDeep(onNilChan)
		case "ownmutex":
			m := new(sync.Mutex)
			m.Lock()
			ownLocked = append(ownLocked, m)
			goDeep(func() { onOwnMutex(m) })
		default:
			fmt.Fprintf(os.Stderr, "unknown shape %q\n", *shape)
			os.Exit(2)
		}
	}
	parked.Wait()
	// Done() runs just before the goroutine blocks: wait until the runtime sees them parked.
	for runtime.NumGoroutine() < *n {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()

	http.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	http.HandleFunc("/pauses", pauses)
	expvar.NewInt("parked").Set(int64(*n))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"addr": ln.Addr().String(), "goroutines": runtime.NumGoroutine(), "go": runtime.Version()})
	// Exit when the benchmark does (stdin closes).
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	http.Serve(ln, nil)
}

// pauses answers the runtime's own histograms of stop-the-world pauses (GC and
// other, e.g. a debug=2 dump), which a loaded machine blurs less than a ping.
func pauses(w http.ResponseWriter, _ *http.Request) {
	samples := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/sched/pauses/total/other:seconds"}}
	metrics.Read(samples)
	out := map[string]any{}
	for _, s := range samples {
		h := s.Value.Float64Histogram()
		// Buckets has one more entry than Counts; the last may be +Inf.
		edges := make([]float64, len(h.Buckets))
		for i, b := range h.Buckets {
			b = max(0, min(b, 1e9)) // JSON has no ±Inf

			edges[i] = b
		}
		out[s.Name] = map[string]any{"counts": h.Counts, "buckets": edges}
	}
	json.NewEncoder(w).Encode(out)
}

func ping(args []string) {
	fs := flag.NewFlagSet("ping", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	every := fs.Duration("every", 2*time.Millisecond, "pause between pings")
	fs.Parse(args)

	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var rtts []float64
	failures := 0
	for {
		select {
		case <-stop:
			sort.Float64s(rtts)
			out := map[string]any{"pings": len(rtts), "failures": failures, "max_ms": 0.0, "p99_ms": 0.0}
			if len(rtts) > 0 {
				out["max_ms"] = rtts[len(rtts)-1]
				out["p99_ms"] = rtts[len(rtts)*99/100]
			}
			json.NewEncoder(os.Stdout).Encode(out)
			return
		default:
		}
		t := time.Now()
		resp, err := client.Get(*url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else {
			failures++
		}
		rtts = append(rtts, float64(time.Since(t).Microseconds())/1000)
		time.Sleep(*every)
	}
}
