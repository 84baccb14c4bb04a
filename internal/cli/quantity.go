package cli

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// quantityFlag is a pflag.Value for Kubernetes quantities like 2, 500m or
// 16Gi, so a bad value is refused while flags are parsed.
type quantityFlag struct{ q *resource.Quantity }

func (f quantityFlag) String() string {
	if f.q == nil || f.q.IsZero() {
		return ""
	}
	return f.q.String()
}

func (f quantityFlag) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a quantity (examples: 2, 500m, 16Gi)", s)
	}
	if q.Sign() < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*f.q = q
	return nil
}

func (quantityFlag) Type() string { return "quantity" }
