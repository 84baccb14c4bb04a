package sandbox

import (
	"fmt"
	"testing"
)

func TestErrorCategories(t *testing.T) {
	for _, c := range []struct {
		err                           error
		notFound, exists, unavailable bool
	}{
		{fmt.Errorf("container c of pod p: %w", ErrNotFound), true, false, false},
		{fmt.Errorf("pod p: %w", ErrAlreadyExists), false, true, false},
		{fmt.Errorf("runc: %w", ErrUnavailable), false, false, true},
		{fmt.Errorf("something else"), false, false, false},
	} {
		if IsNotFound(c.err) != c.notFound || IsAlreadyExists(c.err) != c.exists || IsUnavailable(c.err) != c.unavailable {
			t.Errorf("%v: categories %v %v %v, want %v %v %v", c.err, IsNotFound(c.err), IsAlreadyExists(c.err), IsUnavailable(c.err), c.notFound, c.exists, c.unavailable)
		}
	}
}
