package testenv

import (
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/config"
)

// controllerOptions lets several managers run in one test process (their
// controllers have the same names).
func controllerOptions() config.Controller {
	return config.Controller{SkipNameValidation: ptr.To(true)}
}
