package image

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/fargo-dev/fargo/internal/image/registry"
)

// resolveError says why ref could not be resolved, in the words of a
// kubelet ErrImagePull event, naming the registry and any mirror tried.
func resolveError(ref name.Reference, src source, err error, mirrors []error) error {
	msg := fmt.Sprintf("failed to resolve reference %q at %s: %s", registry.Name(ref), src, reason(err))
	if len(mirrors) > 0 {
		var tried []string
		for _, m := range mirrors {
			tried = append(tried, m.Error())
		}
		msg += " (also tried " + strings.Join(tried, "; ") + ")"
	}
	return errors.New(msg)
}

// reason is a registry error in a few words a user can act on.
func reason(err error) string {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err.Error()
	}
	switch te.StatusCode {
	case http.StatusNotFound:
		return "not found: the repository or tag does not exist"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "unauthorized: the registry needs credentials or refused them; check the pod's imagePullSecrets"
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return "not found: the repository or tag does not exist"
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return "unauthorized: the registry needs credentials or refused them; check the pod's imagePullSecrets"
		}
	}
	return err.Error()
}
