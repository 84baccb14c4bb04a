package scheduler

import (
	"net/netip"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// nodeRecord is a pod-node as the accounting sees it: one the node informer
// reported, or a reservation the decision made and a worker is creating.
type nodeRecord struct {
	name  string
	host  string
	zone  string
	ip    netip.Addr
	size  sizing.Size
	pod   podnode.PodRef
	owner types.UID // the pod's controller, for zone spreading; "" if none
	tier  string    // the kind of sandbox the pod runs in
}

// accounts is the scheduler's picture of hosts and what is placed on them.
// Informer handlers, the decision goroutine and workers all touch it, under
// one mutex; only the decision goroutine reserves, so two decisions never
// see the same free capacity or IP.
type accounts struct {
	mu      sync.Mutex
	hosts   map[string]*v1.Host
	renewed map[string]time.Time // host name → heartbeat renewTime
	nodes   map[string]nodeRecord
	byPod   map[types.UID]string         // pod UID → node name
	ips     map[netip.Addr]string        // IP → node name
	used    map[string]sizing.Size       // host → sum of its nodes' sizes
	zones   map[types.UID]map[string]int // owner → zone → placed pods
	bound   map[types.UID]bool           // pods this scheduler bound, until deleted
}

func newAccounts() *accounts {
	a := &accounts{hosts: map[string]*v1.Host{}, renewed: map[string]time.Time{}, bound: map[types.UID]bool{}}
	a.resetNodes()
	return a
}

func (a *accounts) resetNodes() {
	a.nodes = map[string]nodeRecord{}
	a.byPod = map[types.UID]string{}
	a.ips = map[netip.Addr]string{}
	a.used = map[string]sizing.Size{}
	a.zones = map[types.UID]map[string]int{}
}

func (a *accounts) setHost(h *v1.Host) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hosts[h.Name] = h
}

func (a *accounts) deleteHost(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.hosts, name)
}

// setLease records a heartbeat and reports whether it revived a host that
// was stale (or unknown) at now: waiting pods then deserve an early retry.
func (a *accounts) setLease(host string, renew, now time.Time, ttl time.Duration) (revived bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, known := a.renewed[host]
	a.renewed[host] = renew
	wasFresh := known && old.Add(ttl).After(now)
	return !wasFresh && renew.Add(ttl).After(now)
}

func (a *accounts) deleteLease(host string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.renewed, host)
}

// rebuild replaces every node record with recs: after a restart the
// accounting comes from the API, never from memory.
func (a *accounts) rebuild(recs []nodeRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resetNodes()
	for _, r := range recs {
		a.add(r)
	}
}

// putNode records what the node informer saw, replacing a reservation of
// the same name.
func (a *accounts) putNode(r nodeRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.remove(r.name)
	a.add(r)
}

// dropNode forgets node name if it still belongs to pod uid ("" = any): a
// failed reservation must not drop the record of a node someone else made
// under the same name.
func (a *accounts) dropNode(name string, uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.nodes[name]; ok && (uid == "" || r.pod.UID == uid) {
		a.remove(name)
	}
}

// markTaken keeps ip out of use after a create found its name taken by a
// node the informer has not shown yet; that node's record replaces the mark.
func (a *accounts) markTaken(ip netip.Addr, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.ips[ip]; !ok {
		a.ips[ip] = name
	}
}

// nodeOf returns the record of pod uid's node.
func (a *accounts) nodeOf(uid types.UID) (nodeRecord, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name, ok := a.byPod[uid]
	if !ok {
		return nodeRecord{}, false
	}
	return a.nodes[name], true
}

// nodeNamed returns the record of node name.
func (a *accounts) nodeNamed(name string) (nodeRecord, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.nodes[name]
	return r, ok
}

func (a *accounts) setBound(uid types.UID, bound bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if bound {
		a.bound[uid] = true
	} else {
		delete(a.bound, uid)
	}
}

func (a *accounts) isBound(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bound[uid]
}

// add and remove keep the derived maps in step; a.mu is held.
func (a *accounts) add(r nodeRecord) {
	a.nodes[r.name] = r
	if r.pod.UID != "" {
		a.byPod[r.pod.UID] = r.name
	}
	if r.ip.IsValid() {
		a.ips[r.ip] = r.name
	}
	u := a.used[r.host]
	a.used[r.host] = sizing.Size{MilliCPU: u.MilliCPU + r.size.MilliCPU, MemoryMiB: u.MemoryMiB + r.size.MemoryMiB}
	if r.owner != "" {
		if a.zones[r.owner] == nil {
			a.zones[r.owner] = map[string]int{}
		}
		a.zones[r.owner][r.zone]++
	}
}

func (a *accounts) remove(name string) {
	r, ok := a.nodes[name]
	if !ok {
		return
	}
	delete(a.nodes, name)
	if a.byPod[r.pod.UID] == name {
		delete(a.byPod, r.pod.UID)
		a.repointPod(r.pod.UID)
	}
	if a.ips[r.ip] == name {
		delete(a.ips, r.ip)
	}
	u := a.used[r.host]
	a.used[r.host] = sizing.Size{MilliCPU: u.MilliCPU - r.size.MilliCPU, MemoryMiB: u.MemoryMiB - r.size.MemoryMiB}
	if z := a.zones[r.owner]; z != nil {
		if z[r.zone]--; z[r.zone] <= 0 {
			delete(z, r.zone)
		}
		if len(z) == 0 {
			delete(a.zones, r.owner)
		}
	}
}

// repointPod points byPod at another node of pod uid, if one is left: a
// run that died mid-launch can leave a pod two nodes until cleanup; a.mu
// is held.
func (a *accounts) repointPod(uid types.UID) {
	for name, r := range a.nodes {
		if r.pod.UID == uid {
			a.byPod[uid] = name
			return
		}
	}
}
