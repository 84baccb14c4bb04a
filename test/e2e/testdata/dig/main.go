// Command dig is the tests' stand-in for the netshoot image's dig:
// `dig [-t A|SRV] NAME` prints each answer on a line (SRV as "PORT
// TARGET"), resolving with Go's own resolver, which reads the pod's
// /etc/resolv.conf (search list, ndots) as libc would. Debian's busybox
// nslookup ignores the search list.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	kind := flag.String("t", "A", "record type: A or SRV")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: dig [-t A|SRV] NAME")
		os.Exit(2)
	}
	if err := lookup(*kind, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "dig:", err)
		os.Exit(1)
	}
}

func lookup(kind, name string) error {
	ctx := context.Background()
	switch kind {
	case "A":
		addrs, err := net.DefaultResolver.LookupHost(ctx, name)
		for _, a := range addrs {
			fmt.Println(a)
		}
		return err
	case "SRV":
		_, srvs, err := net.DefaultResolver.LookupSRV(ctx, "", "", name)
		for _, s := range srvs {
			fmt.Println(s.Port, s.Target)
		}
		return err
	}
	return fmt.Errorf("record type %q: use A or SRV", kind)
}
