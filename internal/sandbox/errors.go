package sandbox

import "errors"

// Error categories, the containerd errdefs way: a Runtime wraps its errors
// with one (fmt.Errorf("...: %w", ErrNotFound)) so that callers branch on
// the kind of failure, not on its text.
var (
	// ErrNotFound: the pod sandbox or container does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the pod sandbox or container exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnavailable: the runtime cannot be reached or run right now; a
	// retry may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// IsNotFound tells whether err is of the ErrNotFound category.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsAlreadyExists tells whether err is of the ErrAlreadyExists category.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// IsUnavailable tells whether err is of the ErrUnavailable category.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
