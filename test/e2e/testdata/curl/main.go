// Command curl is the tests' stand-in for the curl of the netshoot image:
// `curl [-m SECONDS] URL` prints the body of URL (a bare name means
// http://NAME/). It resolves names with Go's own resolver, which reads the
// pod's /etc/resolv.conf (search list, ndots) as libc would; Debian's
// static busybox cannot resolve names at all.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	timeout := flag.Float64("m", 5, "maximum time in seconds")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: curl [-m SECONDS] URL")
		os.Exit(2)
	}
	url := flag.Arg(0)
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	client := &http.Client{Timeout: time.Duration(*timeout * float64(time.Second))}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "curl:", err)
		os.Exit(7)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "curl:", err)
		os.Exit(56)
	}
}
