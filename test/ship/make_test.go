package ship

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// TestShipMakeTargets checks, with `make -n`, that the ship targets run
// the scripts with the Makefile's VERSION and IMG.
func TestShipMakeTargets(t *testing.T) {
	args := []string{"-n"}
	if !regexp.MustCompile(`(?m)^-?include\s+hack/ship\.mk\s*$`).Match(readFile(t, "Makefile")) {
		t.Log("the Makefile does not include hack/ship.mk yet: reading both")
		args = append(args, "-f", "Makefile", "-f", "hack/ship.mk")
	}
	version, img := makeVar(t, "VERSION"), strings.ReplaceAll(makeVar(t, "IMG"), "$(VERSION)", makeVar(t, "VERSION"))
	for target, want := range map[string][]string{
		"build-installer": {"IMG=" + img, "hack/build-installer.sh"},
		"bundle":          {"VERSION=" + version, "IMG=" + img, "hack/bundle.sh"},
		"docker-build":    {"build --build-arg VERSION=" + version + " -t " + img + " ."},
		"docker-push":     {"push " + img},
	} {
		out := run(t, nil, "make", append(args, target)...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("make %s does not run %q:\n%s", target, w, out)
			}
		}
	}
}

// TestMakeImages: `make images` lists every image an air-gapped cluster
// must mirror: the manager's and the defaults of the three components.
func TestMakeImages(t *testing.T) {
	out := strings.Fields(run(t, nil, "make", "--no-print-directory", "images"))
	img := strings.ReplaceAll(makeVar(t, "IMG"), "$(VERSION)", makeVar(t, "VERSION"))
	for _, want := range []string{img, v1alpha1.DefaultCoreDNSImage, v1alpha1.DefaultServiceLBImage} {
		if !slices.Contains(out, want) {
			t.Errorf("make images = %v, lacks %s", out, want)
		}
	}
	if !slices.ContainsFunc(out, func(s string) bool { return strings.Contains(s, "/traefik:") }) {
		t.Errorf("make images = %v, lacks the Traefik image", out)
	}
}
