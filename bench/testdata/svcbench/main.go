// Command svcbench measures a pod's view of Services from inside a pod:
//
//	svcbench serve ADDR                 serve /small (a few bytes) and /big (64 MB)
//	svcbench latency -n N URL           N sequential GETs of URL/small, each on a new connection
//	svcbench throughput URL             one GET of URL/big; prints MB/s
//	svcbench dns -n N -c C NAME         N lookups of NAME from C goroutines; prints lookups/s
//
// latency prints "p50-us P99-us" of the round trips; every mode writes one
// line of numbers for the benchmark to parse.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

const bigBytes = 64 << 20

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: svcbench serve|latency|throughput|dns ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 1000, "requests or lookups")
	c := fs.Int("c", 4, "concurrent lookups")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(fs.Arg(0))
	case "latency":
		err = latency(fs.Arg(0), *n)
	case "throughput":
		err = throughput(fs.Arg(0))
	case "dns":
		err = lookups(fs.Arg(0), *n, *c)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "svcbench:", err)
		os.Exit(1)
	}
}

func serve(addr string) error {
	big := make([]byte, bigBytes)
	http.HandleFunc("/small", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	http.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { w.Write(big) })
	return http.ListenAndServe(addr, nil)
}

// latency opens a new connection per request: the Service path's cost is
// in its first packet (the DNAT lookup), then conntrack carries it.
func latency(url string, n int) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	d := make([]time.Duration, 0, n)
	for range n {
		began := time.Now()
		resp, err := client.Get(url + "/small")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d = append(d, time.Since(began))
	}
	slices.Sort(d)
	fmt.Printf("%d %d\n", d[len(d)/2].Microseconds(), d[len(d)*99/100].Microseconds())
	return nil
}

func throughput(url string) error {
	began := time.Now()
	resp, err := http.Get(url + "/big")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.Copy(io.Discard, resp.Body)
	if err != nil || got != bigBytes {
		return fmt.Errorf("read %d of %d bytes: %v", got, bigBytes, err)
	}
	fmt.Printf("%.1f\n", float64(got)/1e6/time.Since(began).Seconds())
	return nil
}

// lookups resolves name n times with Go's resolver (the pod's
// resolv.conf, search list and ndots), c at a time.
func lookups(name string, n, c int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	began := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if _, err := net.DefaultResolver.LookupHost(context.Background(), name); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Printf("%.0f\n", float64(n)/time.Since(began).Seconds())
	return nil
}
