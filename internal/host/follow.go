package host

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// syncRetry is how soon a failed sync is tried again.
const syncRetry = 5 * time.Second

// follow runs sync with informer's synced store whenever it changes, and
// again after syncRetry when sync fails, until ctx ends. The informer must
// be started by the caller; what names the work in the log.
func follow(ctx context.Context, informer cache.SharedIndexInformer, what string, sync func(cache.Store) error) {
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke,
	})
	log := klog.FromContext(ctx)
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry.C:
		}
		if !informer.HasSynced() {
			retry.Reset(100 * time.Millisecond)
			continue
		}
		if err := sync(informer.GetStore()); err != nil {
			log.Error(err, what+", will retry")
			retry.Reset(syncRetry)
		}
	}
}
