package controlplane

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFargoReadyzNamesWhatIsStarting(t *testing.T) {
	cm, fargo := make(chan struct{}), make(chan struct{})
	check := fargoReadyz(readyzPart{"controller-manager", cm}, readyzPart{"fargate controllers", fargo})
	if check.Name() != ReadyzCheck {
		t.Errorf("check named %q, want %q (/readyz/%s)", check.Name(), ReadyzCheck, ReadyzCheck)
	}
	req := httptest.NewRequest("GET", "/readyz", nil)
	err := check.Check(req)
	if err == nil || !strings.Contains(err.Error(), "controller-manager, fargate controllers") {
		t.Errorf("before anything is ready: %v, want both parts named", err)
	}
	close(cm)
	if err := check.Check(req); err == nil || strings.Contains(err.Error(), "controller-manager") || !strings.Contains(err.Error(), "fargate controllers") {
		t.Errorf("with the controller manager ready: %v, want only fargate controllers named", err)
	}
	close(fargo)
	if err := check.Check(req); err != nil {
		t.Errorf("with every part ready: %v", err)
	}
}
