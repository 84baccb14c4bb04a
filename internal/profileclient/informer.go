package profileclient

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// NewInformer returns an informer on all FargateProfiles, resyncing every
// resync (0: never). Its store and its event handlers see
// *unstructured.Unstructured objects: convert them with FromObject, or read
// the store with ListFromStore. The caller runs the informer and waits for
// it to sync.
func NewInformer(dyn dynamic.Interface, resync time.Duration) cache.SharedIndexInformer {
	return dynamicinformer.NewFilteredDynamicInformer(dyn, GVR, metav1.NamespaceAll, resync, cache.Indexers{}, nil).Informer()
}

// ListFromStore returns the profiles in an informer's store, converted and
// sorted by name, like a lister. The profiles are copies the caller may
// change. An object that does not convert is left out: the CRD's structural
// schema keeps such objects out of the apiserver, and one bad object must
// not hide the others from admission.
func ListFromStore(store cache.Store) []v1.FargateProfile {
	objs := store.List()
	profiles := make([]v1.FargateProfile, 0, len(objs))
	for _, obj := range objs {
		if p, err := FromObject(obj); err == nil {
			profiles = append(profiles, *p)
		}
	}
	sortByName(profiles)
	return profiles
}
